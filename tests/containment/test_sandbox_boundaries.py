"""Nothing a submission does reaches past its own run (issue 7): the grader's
environment, the machine's /dev and disk, the checkout's location."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from engine.files import SubmittedFile
from engine.limits import Limits
from engine.runner import run_submission

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024

SECRETS = {
    "SECRET_KEY": "grader-secret-key-7f3a",
    "DATABASE_URL": "postgres://grader:db-password-91c2@localhost/labgrader",
    "REDIS_URL": "redis://:redis-password-5d8e@localhost:6379/0",
}


def around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 80) : at + len(needle) + 20]


# -- A. the grader's environment ------------------------------------------------
def test_no_process_in_the_sandbox_shows_the_graders_environment_cwd_or_checkout(run_script, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    worker_cwd = tempfile.mkdtemp(prefix="labgrader-worker-cwd-")
    monkeypatch.chdir(worker_cwd)
    try:
        record = run_script("""
            import os
            for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
                for name in ("environ", "cmdline"):
                    try:
                        print(pid, name, open(f"/proc/{pid}/{name}", "rb").read())
                    except OSError as error:
                        print(pid, name, "unreadable", error.strerror)
                try:
                    print(pid, "cwd", os.readlink(f"/proc/{pid}/cwd"))
                except OSError as error:
                    print(pid, "cwd unreadable", error.strerror)
            print("own fds", sorted(int(fd) for fd in os.listdir("/proc/self/fd")))
        """)
    finally:
        os.rmdir(worker_cwd)
    seen = record.stdout + record.stderr
    assert record.exit_code == 0, seen
    assert "1 environ b'" in seen, "bwrap's init must be visible, or this test proves nothing"
    for name, value in SECRETS.items():
        assert value not in seen, f"{name} reached the sandbox: {around(seen, value)}"
    assert worker_cwd not in seen, f"the worker's cwd reached the sandbox: {around(seen, worker_cwd)}"
    assert str(REPO) not in seen, f"the checkout's path reached the sandbox: {around(seen, str(REPO))}"
    # 0, 1, 2 and the one listdir() opened: the started pipe was closed, nothing else came in.
    assert "own fds [0, 1, 2, 3]" in seen


# -- B. /dev and the disk budget --------------------------------------------------
def test_dev_is_read_only_and_holds_only_the_usual_devices_which_still_work(run_script):
    record = run_script("""
        import json, os
        print(json.dumps(sorted(os.listdir("/dev"))))
        for path in ("/dev/foo", "/dev/shm-sneaky", "/dev/null-ish"):
            try:
                open(path, "wb").write(b"x" * 1024)
                print(path, "WRITTEN")
            except OSError as error:
                print(path, "refused", error.errno)
        try:
            os.mkdir("/dev/mqueue")
            print("mkdir WRITTEN")
        except OSError as error:
            print("mkdir refused", error.errno)
        open("/dev/null", "wb").write(b"discarded")
        print("zero", open("/dev/zero", "rb").read(4), "urandom", len(open("/dev/urandom", "rb").read(16)))
        try:
            open("/dev/full", "wb", buffering=0).write(b"x")
        except OSError as error:
            print("full refused", error.errno)
        print("stdout link", os.readlink("/dev/stdout"))
    """)
    assert record.exit_code == 0, record.stderr
    assert "WRITTEN" not in record.stdout, record.stdout
    listed = set(json.loads(record.stdout.splitlines()[0]))
    usual = {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr", "shm"}
    assert listed <= usual, f"unexpected in /dev: {listed - usual}"
    refusals = [int(line.split()[-1]) for line in record.stdout.splitlines() if " refused " in line]
    # EROFS (read-only /dev) or EACCES; ENOSPC only from /dev/full.
    assert len(refusals) == 5 and set(refusals[:4]) <= {30, 13} and refusals[4] == 28
    assert "zero b'\\x00\\x00\\x00\\x00' urandom 16" in record.stdout
    assert "stdout link /proc/self/fd/1" in record.stdout


def test_shm_tmp_and_home_share_one_disk_budget_even_without_a_cgroup(run_script, monkeypatch):
    # No cgroup: its memory limit would also stop tmpfs writes and hide a missing size cap.
    monkeypatch.setenv("LABGRADER_CGROUPS", "False")
    record = run_script(
        """
        import errno, json, os
        written, errors = 0, []
        for place in ("/dev/shm", "/tmp", os.path.expanduser("~")):
            try:
                for n in range(5):  # 5 x 8 MiB: 40 MiB here, each file under RLIMIT_FSIZE
                    fd = os.open(f"{place}/fill{n}", os.O_WRONLY | os.O_CREAT)
                    try:
                        for _ in range(8):
                            written += os.write(fd, b"x" * 1024 * 1024)
                    finally:
                        os.close(fd)
            except OSError as error:
                errors.append(errno.errorcode[error.errno])
        print(json.dumps({"written": written, "errors": errors}))
    """,
        wall_s=20,
    )
    assert record.exit_code == 0, record.stderr
    assert record.memory_scope == "process", "a cgroup was made: this test would not prove the tmpfs cap"
    result = json.loads(record.stdout)
    budget = Limits().disk_mib * MIB
    assert result["written"] <= budget + MIB, f"{result['written'] / MIB:.1f} MiB written past a 64 MiB budget"
    assert result["written"] >= budget - 2 * MIB, "the budget is one 64 MiB disk, not smaller pieces"
    assert result["errors"] and set(result["errors"]) <= {"ENOSPC", "EFBIG"}


def test_multiprocessing_locks_tempfiles_and_home_still_work(run_script):
    record = run_script("""
        import multiprocessing, os, tempfile
        lock = multiprocessing.Lock()
        with lock:
            print("lock ok")
        fd, path = tempfile.mkstemp()
        os.write(fd, b"temp")
        os.close(fd)
        print("mkstemp ok", path.startswith("/tmp/"), open(path, "rb").read())
        home = os.path.expanduser("~")
        open(os.path.join(home, "notes.txt"), "w").write("hi")
        print("home", home, open(os.path.join(home, "notes.txt")).read(), os.getcwd())
    """)
    assert record.exit_code == 0, record.stderr
    assert "lock ok" in record.stdout
    assert "mkstemp ok True b'temp'" in record.stdout
    assert "home /home/student hi /home/student/lab" in record.stdout


# -- C. the checkout's own location ----------------------------------------------
GRADE_FROM_HERE = """
import json
from engine.files import SubmittedFile
from engine.limits import Limits
from engine.runner import run_submission
source = b"import boto3\\nboto3.client('s3').create_bucket(Bucket='from-a-closed-checkout')\\nprint('ok')\\n"
record = run_submission(files=[SubmittedFile("main.py", source)], entry_point="main.py", stdin="", limits=Limits())
print(json.dumps({"exit_code": record.exit_code, "stdout": record.stdout, "stderr": record.stderr[-500:],
                  "calls": [call.operation for call in record.calls]}))
"""


def test_a_checkout_the_sandbox_uid_cannot_enter_still_grades(run_script):
    # As when the repo is cloned into /root or a `mktemp -d`: both are 0700.
    # (run_script: for its traversable work dir and its check for leftovers.)
    closed = tempfile.mkdtemp(prefix="labgrader-closed-")
    try:
        checkout = Path(closed) / "labgrader"
        for package in ("engine", "checks"):
            shutil.copytree(REPO / package, checkout / package, ignore=shutil.ignore_patterns("__pycache__"))
        result = subprocess.run(
            [sys.executable, "-c", GRADE_FROM_HERE],
            cwd=checkout,
            env={**os.environ, "PYTHONPATH": str(checkout), "LABGRADER_SLOT_UID_BASE": "64000", "LABGRADER_SLOTS": "8"},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        shutil.rmtree(closed)
    assert result.returncode == 0, result.stderr[-1500:]
    record = json.loads(result.stdout.splitlines()[-1])
    assert record["exit_code"] == 0 and record["stdout"] == "ok\n", record["stderr"]
    assert record["calls"] == ["CreateBucket"]


def test_a_submissions_folders_and_files_are_copied_into_the_working_dir_for_the_script_to_change(monkeypatch):
    # bwrap copies them (--file) as it builds the sandbox, where a cp in the launcher did.
    work_dir = tempfile.mkdtemp(prefix="labgrader-test-")
    os.chmod(work_dir, 0o755)
    monkeypatch.setenv("LABGRADER_WORK_DIR", work_dir)
    script = b"""
import os
from pkg.helper import GREETING
with open("data/notes.txt", "a") as notes:
    notes.write(" and more")
print(GREETING, open("data/notes.txt").read(), os.getcwd())
print(sorted(os.path.join(d, f) for d, _, fs in os.walk(".") for f in fs if "__pycache__" not in d))
"""
    files = [
        SubmittedFile("main.py", script),
        SubmittedFile("pkg/__init__.py", b""),
        SubmittedFile("pkg/helper.py", b"GREETING = 'hello'\n"),
        SubmittedFile("data/notes.txt", "naïve notes".encode()),
    ]
    try:
        record = run_submission(files=files, entry_point="main.py", stdin="", limits=Limits(wall_s=10))
    finally:
        leftovers = os.listdir(work_dir)
        os.rmdir(work_dir)
    assert record.exit_code == 0, record.stderr
    first, second = record.stdout.splitlines()
    assert first == "hello naïve notes and more /home/student/lab"
    assert eval(second) == ["./data/notes.txt", "./main.py", "./pkg/__init__.py", "./pkg/helper.py"]  # noqa: S307
    assert leftovers == []
