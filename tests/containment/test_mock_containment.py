"""The mock is part of the sandbox: what a script makes moto do stays inside the run.

Each test drives the real mock (forked from the real zygote) through a real
sandboxed script. Where a test needs code to run *inside* the mock, it
declares a service with a known code-execution hole (CloudFormation loads
templates with yaml.Loader) for that run only, and probes the mock's
confinement from there.
"""

import json
import os
import socket
import tempfile
import textwrap
import threading

import pytest

from engine.errors import SubmissionError
from engine.files import SubmittedFile
from engine.limits import Limits
from engine.runner import run_submission

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def run_with(run_script):
    """Like run_script, with the services the mock serves chosen per run."""

    def run(source: str, services=("s3",), **limits):
        files = [SubmittedFile("main.py", textwrap.dedent(source).encode())]
        return run_submission(
            files=files,
            entry_point="main.py",
            stdin="student\n",
            limits=Limits(**{"wall_s": 15, **limits}),
            services=services,
        )

    return run


# Runs in the mock through CloudFormation's yaml.Loader; returns what the mock can see and do.
PROBE = """
import os, socket
out = {"uid": os.getuid(), "euid": os.geteuid(), "env": dict(os.environ), "cwd": os.getcwd()}
out["readable"] = [p for p in PATHS if os.path.exists(p)]
def reach(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(address)
        return "REACHED"
    except OSError as error:
        return error.strerror
    finally:
        s.close()
out["redis"] = reach(socket.AF_INET, ("127.0.0.1", 6379))
out["postgres"] = reach(socket.AF_INET, ("127.0.0.1", 5432))
out["listener"] = reach(socket.AF_INET, ("127.0.0.1", LISTENER_PORT))
out["internet"] = reach(socket.AF_INET, ("1.1.1.1", 80))
try:
    open("/tmp/mock-was-here", "w").write("x")
    out["wrote_tmp"] = True
except OSError:
    out["wrote_tmp"] = False
try:
    os.setuid(0)
    out["regained_root"] = True
except OSError:
    out["regained_root"] = False
"""


def probe_script(paths: list[str], listener_port: int) -> str:
    code = PROBE.replace("PATHS", repr(paths)).replace("LISTENER_PORT", str(listener_port))
    expression = f"(lambda scope: (exec({code!r}, scope), repr(scope['out']))[1])({{}})"
    template = "Description: !!python/object/apply:builtins.eval [" + json.dumps(expression) + "]\nResources: {}\n"
    return f"""
        import boto3, os
        cf = boto3.client("cloudformation")
        try:
            cf.create_stack(StackName="probe", TemplateBody={template!r})
            print("PROBE", cf.describe_stacks(StackName="probe")["Stacks"][0]["Description"])
        except Exception as error:
            print("REFUSED", error)
        print("SCRIPT_UID", os.getuid())
    """


@pytest.fixture
def listener():
    """A local port the mock must not be able to reach; counts what arrives."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    arrived = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.settimeout(1)
            try:
                arrived.append(conn.recv(4096))
            except OSError:
                arrived.append(b"")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], arrived
    stop.set()
    thread.join()
    server.close()


def test_code_run_inside_the_mock_is_unprivileged_offline_and_sees_nothing_of_the_grader(
    run_with, monkeypatch, listener
):
    port, arrived = listener
    monkeypatch.setenv("SECRET_KEY", "grader-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgres://grader:pw-456@localhost/db")
    candidates = [
        os.path.join(REPO, "grader", "settings.py"),
        os.path.join(REPO, "checks", "__init__.py"),
        os.path.join(REPO, "var"),
        "/etc/shadow",
        "/etc/hostname",
        os.path.expanduser("~/.bashrc"),
        "/var/run",
        tempfile.gettempdir() + "/labgrader-slots",
    ]
    paths = [p for p in candidates if os.path.exists(p)]
    assert len(paths) >= 4
    record = run_with(probe_script(paths, port), services=("s3", "cloudformation"))
    assert "PROBE" in record.stdout, record.stdout + record.stderr
    seen = eval(record.stdout.split("PROBE ", 1)[1].splitlines()[0])  # noqa: S307 - our own repr
    script_uid = int(record.stdout.split("SCRIPT_UID ")[1].split()[0])
    assert seen["uid"] != 0 and seen["euid"] != 0
    assert seen["uid"] != script_uid
    assert not seen["regained_root"]
    assert "grader-secret-123" not in repr(seen["env"]) and "DATABASE_URL" not in seen["env"]
    assert REPO not in seen["cwd"]
    assert seen["readable"] == []
    assert "REACHED" not in (seen["redis"], seen["postgres"], seen["listener"], seen["internet"])
    assert not seen["wrote_tmp"]
    assert arrived == []


def test_a_service_the_assignment_does_not_declare_is_refused_before_moto_runs_it(run_with, tmp_path):
    marker = f"/tmp/labgrader-test-marker-{os.getpid()}"
    template = (
        f"Description: !!python/object/apply:subprocess.getoutput ['touch {marker}; echo ran']\nResources: {{}}\n"
    )
    record = run_with(f"""
        import boto3
        try:
            boto3.client("cloudformation").create_stack(StackName="x", TemplateBody={template!r})
            print("ACCEPTED")
        except Exception as error:
            print("refused:", error)
    """)
    assert not os.path.exists(marker)
    assert "ACCEPTED" not in record.stdout and "ServiceNotServed" in record.stdout
    refused = [c for c in record.calls if c.operation == "RefusedService"]
    assert [(c.status, c.params["service"]) for c in refused] == [(403, "cloudformation")]


def test_the_mock_cannot_be_made_to_post_to_a_local_port(run_with, listener):
    port, arrived = listener
    record = run_with(f"""
        import boto3
        sns = boto3.client("sns")
        try:
            topic = sns.create_topic(Name="t")["TopicArn"]
            sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:{port}/hook")
            sns.publish(TopicArn=topic, Message="hello")
            print("PUBLISHED")
        except Exception as error:
            print("refused:", error)
        firehose = boto3.client("firehose")
        try:
            firehose.create_delivery_stream(
                DeliveryStreamName="f",
                HttpEndpointDestinationConfiguration={{
                    "EndpointConfiguration": {{"Url": "http://127.0.0.1:{port}/fh"}},
                    "S3Configuration": {{"RoleARN": "arn:aws:iam::123456789012:role/r", "BucketARN": "arn:aws:s3:::b"}},
                }},
            )
            firehose.put_record(DeliveryStreamName="f", Record={{"Data": b"x"}})
            print("FIREHOSE")
        except Exception as error:
            print("refused:", error)
    """)
    assert arrived == []
    assert "PUBLISHED" not in record.stdout and "FIREHOSE" not in record.stdout
    assert {c.params["service"] for c in record.calls if c.operation == "RefusedService"} == {"sns", "firehose"}


def test_a_request_signed_for_another_service_is_refused_even_if_it_mentions_s3(run_with):
    record = run_with("""
        import urllib.request
        auth = ("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/sts/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=/s3/aws4_request/x")
        url = "http://127.0.0.1:4566/some-bucket?list-type=2"
        request = urllib.request.Request(url, headers={"Authorization": auth})
        try:
            urllib.request.urlopen(request)
            print("ANSWERED")
        except Exception as error:
            print("refused:", error)
    """)
    assert "ANSWERED" not in record.stdout
    assert [(c.operation, c.params.get("service")) for c in record.calls] == [("RefusedService", "sts")]


@pytest.mark.parametrize("cgroups", ["True", "False"], ids=["with a cgroup", "with rlimits alone"])
def test_multipart_parts_beyond_the_mocks_memory_budget_do_not_stay_in_the_mock(run_with, monkeypatch, cgroups):
    monkeypatch.setenv("LABGRADER_CGROUPS", cgroups)
    record = run_with(
        """
        import boto3
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="hoard")
        upload = s3.create_multipart_upload(Bucket="hoard", Key="big")["UploadId"]
        part = b"x" * (5 * 1024 * 1024)
        stored = 0
        for number in range(1, 121):
            try:
                s3.upload_part(Bucket="hoard", Key="big", UploadId=upload, PartNumber=number, Body=part)
                stored += 1
            except Exception as error:
                print("part", number, "failed:", type(error).__name__, flush=True)
                break
        print("STORED", stored, "MiB", stored * 5, flush=True)
        """,
        wall_s=60,
    )
    stored_mib = int(record.stdout.split("STORED ")[1].split()[0]) * 5
    assert stored_mib <= Limits().mock_memory_mib, record.stdout
    assert " failed: " in record.stdout  # the script was told, one way or another
    assert [c.operation for c in record.calls[:2]] == ["CreateBucket", "CreateMultipartUpload"]


def test_connections_past_the_mocks_ceiling_are_closed_and_the_run_still_works(run_with):
    record = run_with("""
        import socket, time, boto3
        held = []
        for _ in range(45):
            s = socket.create_connection(("127.0.0.1", 4566))
            s.sendall(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n")  # never finished
            held.append(s)
        closed, deadline = set(), time.monotonic() + 20
        while len(closed) < 45 - 32 and time.monotonic() < deadline:  # a loaded machine accepts slowly
            for s in held:
                try:
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        closed.add(s)
                except BlockingIOError:
                    pass
                except OSError:
                    closed.add(s)
            time.sleep(0.05)
        refused = len(closed)
        print("REFUSED", refused, flush=True)
        for s in held:
            s.close()
        boto3.client("s3").create_bucket(Bucket="after-the-flood")
        print("OK")
    """)
    assert "REFUSED" in record.stdout, record.stderr
    refused = int(record.stdout.split("REFUSED ")[1].split()[0])
    assert refused >= 45 - Limits().mock_connections, record.stdout + record.stderr
    assert "OK" in record.stdout
    assert [c.operation for c in record.calls if c.operation != "ListBuckets"] == ["CreateBucket"]


def test_a_mock_still_busy_after_the_script_is_stopped_and_the_run_is_graded(run_with):
    record = run_with(
        """
        import boto3, os, threading, time
        boto3.client("s3").create_bucket(Bucket="kept")
        kms = boto3.client("kms")
        def churn():
            while True:
                try:
                    kms.create_key(KeySpec="RSA_4096", KeyUsage="SIGN_VERIFY")
                except Exception:
                    pass
        for _ in range(8):  # each thread reserves 8 MiB of the 512 MiB address space
            threading.Thread(target=churn, daemon=True).start()
        time.sleep(2)
        print("leaving", flush=True)
        os._exit(0)
        """,
        services=("s3", "kms"),
        # Up to 8 key generations are queued in the mock when the script dies, one at a
        # time under the recorder's lock: a deadline this short is not met even on a fast
        # machine (with 1 s, one run of the whole suite saw the queue drain in time).
        mock_stop_s=0.2,
    )
    assert "leaving" in record.stdout, record.stderr
    assert record.calls[0].operation == "CreateBucket"
    assert "kept" in record.final_state
    assert record.mock_incident is not None and "still busy" in record.mock_incident


def test_the_mocks_own_output_cannot_fill_a_pipe_and_hang_it(run_with):
    record = run_with(
        """
        import urllib.request, boto3
        auth = ("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/nosuchservice/aws4_request, "
                "SignedHeaders=host, Signature=x")
        for _ in range(1500):
            request = urllib.request.Request("http://127.0.0.1:4566/", headers={"Authorization": auth})
            try:
                urllib.request.urlopen(request, timeout=5)
            except Exception:
                pass
        boto3.client("s3").create_bucket(Bucket="still-answering")
        print("DONE")
    """,
        wall_s=60,
    )  # 1,500 connections take ~14 s here: a bound, not a speed test
    assert not record.timed_out and "DONE" in record.stdout
    assert record.calls[-1].operation == "CreateBucket" and record.calls[-1].ok


def test_files_that_cannot_be_staged_are_the_students_error_and_leave_no_run_directory(run_script):
    # run_script's fixture fails the test if anything is left in its work dir.
    files = [SubmittedFile("main.py", b"print(1)\n"), SubmittedFile("data.txt", b"a")]
    clash = [*files, SubmittedFile("data.txt/notes.txt", b"b")]
    with pytest.raises(SubmissionError, match="data.txt"):
        run_submission(files=clash, entry_point="main.py", stdin="")
    long_name = [*files, SubmittedFile("n" * 300 + ".txt", b"c")]
    with pytest.raises(SubmissionError):
        run_submission(files=long_name, entry_point="main.py", stdin="")
