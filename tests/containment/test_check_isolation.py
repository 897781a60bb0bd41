"""A package's checks are the instructor's code, not the grader's (issue 10): each evaluation runs
in a confined fork with no network, no environment, no filesystem but Python's, no other process
to signal, under a timer and a memory limit; whatever a check does becomes its own verdict."""

import json
import os
import socket
import tempfile
import textwrap
from pathlib import Path

import pytest

from engine import assignments, check_host
from engine.grading import evaluate
from tests.records import correct_run

CHECKOUT = Path(__file__).resolve().parents[2]


def package_with(root: Path, **checks: str) -> assignments.Assignment:
    """A package whose checks are the given sources (each defines check(record)), 1 point each."""
    package = root / "probe-lab"
    (package / "checks").mkdir(parents=True)
    entries = "".join(f'[[checks]]\nid = "{name}"\npoints = 1\n\n' for name in checks)
    (package / "assignment.toml").write_text(f'slug = "probe-lab"\n\n{entries}')
    for name, source in checks.items():
        header = f'from checks.base import Verdict, failed, passed\nID = "{name}"\nNAME = "{name.title()}"\n'
        (package / "checks" / f"{name}.py").write_text(header + textwrap.dedent(source))
    return assignments.load_package(package)


def results_of(assignment, record=None) -> dict:
    return {r.id: r for r in evaluate(record or correct_run().record(), assignment)}


PROBE = """
import json, os, socket, sys

def attempt(action):
    try:
        return "done: " + repr(action())[:200]
    except BaseException as error:
        return "refused: " + type(error).__name__

def check(record):
    target = json.loads(record.stdin)
    def connect(port):
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return port
    def write(path):
        with open(path, "w") as handle:
            return handle.write("left by a check")
    report = {
        "environ": dict(os.environ),
        "uid": os.getuid(),
        "proc": attempt(lambda: os.listdir("/proc")),
        "redis": attempt(lambda: connect(target["redis_port"])),
        "listener": attempt(lambda: connect(target["listener_port"])),
        "settings": attempt(lambda: open(target["settings"]).read()),
        "database_socket": attempt(lambda: os.listdir("/var/run/postgresql")),
        "write_tmp": attempt(lambda: write("/tmp/left-by-a-check")),
        "write_checkout": attempt(lambda: write(target["checkout"] + "/left-by-a-check")),
        "signal_grader": attempt(lambda: os.kill(target["grader_pid"], 15)),
        "fork": attempt(os.fork),
        "grader_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("django", "grader", "submissions")),
    }
    return passed(json.dumps(report))
"""


@pytest.fixture
def probe_report(tmp_path):
    """What a check that tries everything could do, with a listener of ours on the host's loopback."""
    listener = socket.create_server(("127.0.0.1", 0))
    record = correct_run().record()
    record.stdin = json.dumps(
        {
            "redis_port": 6379,
            "listener_port": listener.getsockname()[1],
            "settings": str(CHECKOUT / "grader" / "settings.py"),
            "checkout": str(CHECKOUT),
            "grader_pid": os.getpid(),
        }
    )
    try:
        result = results_of(package_with(tmp_path, probe=PROBE), record)["probe"]
    finally:
        listener.close()
    assert not result.error, result.feedback
    return json.loads(result.feedback)


def test_a_check_reaches_no_network_not_even_the_hosts_loopback(probe_report):
    assert probe_report["redis"].startswith("refused")
    assert probe_report["listener"].startswith("refused")


def test_a_check_sees_no_environment_no_proc_and_none_of_the_grader_in_memory(probe_report):
    assert probe_report["environ"] == {}
    assert probe_report["proc"].startswith("refused")
    assert probe_report["grader_modules"] == []


def test_a_check_reads_nothing_of_the_service_nor_the_database_socket(probe_report):
    assert probe_report["settings"].startswith("refused")
    assert probe_report["database_socket"].startswith("refused")


def test_a_check_writes_nothing_that_outlives_it(probe_report):
    assert probe_report["write_tmp"].startswith("refused")
    assert probe_report["write_checkout"].startswith("refused")
    assert not (CHECKOUT / "left-by-a-check").exists()
    assert not Path("/tmp/left-by-a-check").exists()


def test_a_check_can_neither_signal_the_grader_nor_start_processes(probe_report):
    assert probe_report["signal_grader"].startswith("refused")
    assert probe_report["fork"].startswith("refused")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give checks a uid of their own")
def test_a_check_runs_as_an_unprivileged_uid_of_its_own(probe_report):
    assert probe_report["uid"] == check_host.CHECKS_UID != 0


def test_a_check_that_raises_is_an_error_verdict_naming_it_and_the_others_still_count(tmp_path):
    results = results_of(
        package_with(tmp_path, broken="def check(record):\n    raise RuntimeError('boom')\n", fine=FINE)
    )
    assert results["broken"].error and not results["broken"].passed and results["broken"].points == 0
    assert "broken" in results["broken"].feedback and "RuntimeError: boom" in results["broken"].feedback
    assert results["fine"].passed and results["fine"].points == 1


FINE = "def check(record):\n    return passed('fine')\n"


@pytest.mark.parametrize(
    "source, why",
    [
        ("def check(record):\n    return True\n", "not a Verdict"),
        ("def check(record):\n    return Verdict('yes', 'ok')\n", "not a Verdict"),
        ("def check(record):\n    return Verdict(True, b'bytes')\n", "feedback of type bytes"),
        ("def check(record):\n    return [0] * (1 << 33)\n", "MemoryError"),
        ("import os\ndef check(record):\n    os._exit(0)\n", "process ended"),
        ("import ctypes\ndef check(record):\n    ctypes.string_at(0)\n", "process ended"),
        ("def check(record)\n    return passed('')\n", "SyntaxError"),
        ("import grader.settings\ndef check(record):\n    return passed('')\n", "ModuleNotFoundError"),
    ],
)
def test_whatever_a_check_returns_or_does_becomes_its_own_error_verdict(tmp_path, source, why):
    results = results_of(package_with(tmp_path, odd=source, fine=FINE))
    assert results["odd"].error and not results["odd"].passed, results["odd"]
    assert why in results["odd"].feedback
    assert results["fine"].passed


def test_a_check_that_loops_is_stopped_by_its_timer(tmp_path, monkeypatch):
    monkeypatch.setattr(check_host, "CHECK_S", 1)
    results = results_of(package_with(tmp_path, loops="def check(record):\n    while True:\n        pass\n", fine=FINE))
    assert results["loops"].error and "did not finish within 1 s" in results["loops"].feedback
    assert results["loops"].name == "Loops"  # its NAME, read from its source: it never said it
    assert results["fine"].passed


SWALLOWS_ITS_TIMER = """
def check(record):
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
"""


def test_a_check_that_swallows_its_timer_is_killed_and_the_next_checks_still_run(tmp_path, monkeypatch):
    monkeypatch.setattr(check_host, "CHECK_S", 1)
    results = results_of(package_with(tmp_path, stubborn=SWALLOWS_ITS_TIMER, fine=FINE))
    assert results["stubborn"].error and "did not finish within 1 s" in results["stubborn"].feedback
    assert results["fine"].passed


def test_checks_share_no_state_across_evaluations(tmp_path):
    counter = "COUNT = []\ndef check(record):\n    COUNT.append(1)\n    return passed(str(len(COUNT)))\n"
    assignment = package_with(tmp_path, counter=counter)
    assert [results_of(assignment)["counter"].feedback for _ in range(3)] == ["1", "1", "1"]


def test_a_check_reads_its_own_packages_files_beside_it(tmp_path):
    reads = (
        "from pathlib import Path\n"
        "def check(record):\n"
        "    return passed((Path(__file__).parent.parent / 'files' / 'data.csv').read_text())\n"
    )
    assignment = package_with(tmp_path, reads=reads)
    (assignment.package_dir / "files").mkdir()
    (assignment.package_dir / "files" / "data.csv").write_text("sku,qty\n")
    assert results_of(assignment)["reads"].feedback == "sku,qty\n"


def test_a_checks_zygote_killed_with_its_owner_leaves_no_control_directory_behind(tmp_path):
    stale = Path(tempfile.mkdtemp(prefix=check_host.CONTROL_PREFIX))
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(stale / "control.sock"))  # bound, never listening: what a SIGKILLed zygote leaves
    dead.close()
    zygote = check_host.CheckZygote()
    try:
        zygote.run(package_with(tmp_path, fine=FINE).package_dir, ["fine"], [correct_run().record().to_dict()])
        assert not stale.exists()
    finally:
        zygote.close()


WRITES_TO_THE_GRADER = """
import os, stat

def check(record):
    for fd in range(3, 16):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.write(fd, {payload})
        except OSError:
            pass
    return passed("wrote")
"""


@pytest.mark.parametrize(
    "payload",
    [
        b"not json\n",
        b"\n",
        b'{"at": 99, "name": "Fine", "passed": true, "feedback": "forged", "error": null}\n',
        b'{"at": 0, "name": "Odd", "passed": "yes", "feedback": "", "error": null}\n',
        b'{"at": 0, "name": "Odd", "passed": true, "feedback": "forged" }' + b" " * (1 << 20),
    ],
    ids=["garbage", "empty-line", "another-checks-answer", "wrong-shape", "endless-line"],
)
def test_a_check_that_writes_to_the_graders_connection_gets_an_error_and_forges_nothing(tmp_path, payload):
    results = results_of(package_with(tmp_path, odd=WRITES_TO_THE_GRADER.format(payload=payload), fine=FINE))
    assert results["odd"].error and not results["odd"].passed
    assert "is not its answer" in results["odd"].feedback
    assert results["fine"].passed and results["fine"].feedback == "fine"
