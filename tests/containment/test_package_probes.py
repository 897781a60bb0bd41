"""A package's own state probe (`[probes]` in its manifest), run in the real confined mock.

The package here serves SQS, which ships no probe: its probe reads each queue and its
messages, and the record holds their changes call by call. The probe is the
instructor's code: it runs only inside the run's mock, after that has confined itself.
"""

import os
import socket
import tempfile
import textwrap
from pathlib import Path

import pytest

from engine import assignments
from engine.files import SubmittedFile
from engine.grading import evaluate, grade
from engine.limits import Limits
from engine.record import service_state_after
from engine.runner import run_submission

MANIFEST = """
slug = "queue-lab"
services = ["sqs"]

[probes]
sqs = "probes/sqs.py:queue_state"

[[checks]]
id = "state_recorded"
points = 1
"""

QUEUE_STATE = """
from moto.sqs.models import sqs_backends

from engine.probes import ResourceView


def queue_state(request, max_entries):
    views = {}
    for regions in list(sqs_backends.values()):
        for backend in list(regions.values()):
            for name, queue in list(backend.queues.items()):
                messages = list(queue._messages)
                entries = {m.id: {"body": m.body} for m in messages[:max_entries]}
                views[name] = ResourceView({"fifo": name.endswith(".fifo")}, entries, True, len(messages))
    return views
"""

# Fails naming what went wrong with the probe, as a lab's check could.
STATE_RECORDED = """
from checks.base import failed, passed

ID = "state_recorded"
NAME = "State"

def check(record):
    errors = [c.params["record_error"] for c in record.calls if "record_error" in c.params]
    return failed(errors[0]) if errors else passed("every change was seen")
"""

SCRIPT = """
import boto3

sqs = boto3.client("sqs")
url = sqs.create_queue(QueueName="orders-alice")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="first order")
sqs.send_message(QueueUrl=url, MessageBody="second order")
print("sent")
"""


def make_package(root: Path, probe_source: str = QUEUE_STATE) -> Path:
    package = root / "queue-lab"
    (package / "checks").mkdir(parents=True)
    (package / "probes").mkdir()
    (package / "assignment.toml").write_text(MANIFEST)
    (package / "checks" / "state_recorded.py").write_text(STATE_RECORDED)
    (package / "probes" / "sqs.py").write_text(textwrap.dedent(probe_source))
    return package


@pytest.fixture
def run_lab(run_script):
    """Run a script against the package's mock, its probes passed to the run as the grader passes them."""

    def run(assignment: assignments.Assignment, source: str = SCRIPT, **limits):
        return run_submission(
            files=[SubmittedFile("main.py", textwrap.dedent(source).encode())],
            entry_point="main.py",
            stdin="student\n",
            limits=Limits(**{"wall_s": 20, **limits}),
            services=assignment.services,
            probes=assignment.probes,
        )

    return run


def test_a_packages_probe_records_the_queue_and_its_messages_call_by_call(run_lab, tmp_path):
    assignment = assignments.load_package(make_package(tmp_path))
    record = run_lab(assignment)
    assert "sent" in record.stdout, record.stderr
    assert [(c.service, c.operation) for c in record.calls] == [
        ("sqs", "CreateQueue"),
        ("sqs", "SendMessage"),
        ("sqs", "SendMessage"),
    ]
    create, first, second = record.calls
    assert [(c.resource, c.entry, c.value) for c in create.service_changes] == [("orders-alice", None, {"fifo": False})]
    assert [c.value for c in first.service_changes] == [{"body": "first order"}]
    assert [c.value for c in second.service_changes] == [{"body": "second order"}]
    assert all("record_error" not in c.params for c in record.calls)

    queue = record.final_services["sqs"]["orders-alice"]
    assert sorted(m["body"] for m in queue["entries"].values()) == ["first order", "second order"]
    assert service_state_after(record.calls, "sqs") == record.final_services["sqs"]
    assert [r.passed for r in evaluate(record, assignment)] == [True]


def test_grading_a_submission_runs_its_packages_probe_as_every_path_does(run_script, tmp_path):
    assignment = assignments.load_package(make_package(tmp_path))
    report = grade(files=[SubmittedFile("main.py", SCRIPT.encode())], assignment=assignment)
    assert report.score == report.max_score == 1, report.checks
    assert sorted(report.record.final_services["sqs"]) == ["orders-alice"]


def test_a_probe_that_raises_leaves_the_run_recorded_and_graded_and_says_which_probe_failed(run_lab, tmp_path):
    breaks_on_messages = QUEUE_STATE.replace(
        "    return views", "    assert not any(v.entries for v in views.values())\n    return views"
    )
    assignment = assignments.load_package(make_package(tmp_path, breaks_on_messages))
    failing_line = breaks_on_messages.splitlines().index("    assert not any(v.entries for v in views.values())") + 1
    record = run_lab(assignment)
    assert "sent" in record.stdout and record.mock_incident is None, record.stderr
    assert [c.operation for c in record.calls] == ["CreateQueue", "SendMessage", "SendMessage"]
    create, first, second = record.calls
    assert create.service_changes and "record_error" not in create.params
    for send in (first, second):
        assert send.ok and send.service_changes == []
        assert "state probe probes/sqs.py:queue_state failed: AssertionError" in send.params["record_error"]
        assert f"(probes/sqs.py, line {failing_line})" in send.params["record_error"]
    # The state stays as last seen: the queue, without the messages the probe failed to read.
    assert record.final_services["sqs"] == {"orders-alice": {"resource": {"fifo": False}, "entries": {}}}
    [verdict] = evaluate(record, assignment)
    assert not verdict.passed and not verdict.error and "queue_state failed" in verdict.feedback


def test_a_probe_that_never_returns_costs_the_run_its_later_calls_not_its_grade(run_lab, tmp_path):
    loops_on_messages = QUEUE_STATE.replace(
        "    return views", "    while any(v.entries for v in views.values()):\n        pass\n    return views"
    )
    assignment = assignments.load_package(make_package(tmp_path, loops_on_messages))
    record = run_lab(assignment, wall_s=4, mock_stop_s=1)
    assert record.timed_out and "still busy" in record.mock_incident
    assert [c.operation for c in record.calls] == ["CreateQueue"]
    assert record.final_services == {"sqs": {"orders-alice": {"resource": {"fifo": False}, "entries": {}}}}
    assert [r.passed for r in evaluate(record, assignment)] == [True]


def test_a_probe_runs_confined_and_finds_neither_the_graders_files_nor_the_network(run_lab, tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))  # a service of the grader's host
    package = make_package(tmp_path)
    marker = Path(tmp_path) / "probe-ran-here"
    # The package, the grader's checkout (other labs, these tests), host files, /proc, a disk.
    grader_paths = [str(package / "assignment.toml"), str(assignments.ASSIGNMENTS_DIR), __file__]
    # A file in the host's /tmp (the directory itself may be there: a checkout or venv
    # under /tmp is mounted at its own path, and /tmp is its parent).
    host_tmp_file = tempfile.NamedTemporaryFile(dir="/tmp", prefix="labgrader-test-")  # noqa: SIM115 - closed below
    grader_paths += ["/etc/passwd", "/proc/self/environ", host_tmp_file.name]
    reach = f"""
        import os, socket

        try:  # the module's own code: had it run in the grader or the zygote, this would exist
            open({str(marker)!r}, "w").write("ran")
        except OSError:
            pass


        def reachable():
            found = []
            for path in {grader_paths!r}:
                if os.path.exists(path):
                    found.append(path)
            for address in [("127.0.0.1", {listener.getsockname()[1]}), ("1.1.1.1", 53)]:
                try:
                    socket.create_connection(address, timeout=1).close()
                    found.append(address[0])
                except OSError:
                    pass
            return {{"found": found, "uid": os.getuid(), "environ": dict(os.environ)}}
    """
    source = textwrap.dedent(reach) + QUEUE_STATE.replace('{"fifo": name.endswith(".fifo")}', "reachable()")
    (package / "probes" / "sqs.py").write_text(source)
    try:
        record = run_lab(assignments.load_package(package))
    finally:
        listener.close()
        host_tmp_file.close()
    assert "sent" in record.stdout, record.stderr
    seen = record.final_services["sqs"]["orders-alice"]["resource"]
    assert seen["found"] == [] and seen["environ"] == {}
    assert seen["uid"] != 0
    assert not marker.exists()
    assert all("record_error" not in c.params for c in record.calls)


def test_the_probe_source_is_read_into_the_assignment_and_never_run_by_loading_it(tmp_path):
    package = make_package(
        tmp_path, "import os\nos.mkdir(" + repr(str(tmp_path / "ran")) + ")\n\ndef queue_state(r, m):\n    return {}\n"
    )
    [probe] = assignments.load_package(package).probes
    assert (probe.service, probe.path, probe.function) == ("sqs", "probes/sqs.py", "queue_state")
    assert "os.mkdir" in probe.source and not os.path.exists(tmp_path / "ran")
