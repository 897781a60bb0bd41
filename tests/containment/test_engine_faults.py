"""Grader failures inside one run: each is an InfrastructureError (retry, never a grade)."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from engine import slots
from engine import zygote as zygote_module
from engine.errors import InfrastructureError
from engine.motoserver import MotoZygote, shared_zygote

SLEEPY = """
import boto3, time
boto3.client("s3").create_bucket(Bucket="sleepy-bucket")
time.sleep(3)
"""
HEALTHY = 'import boto3\nboto3.client("s3").create_bucket(Bucket="fine")\n'


def test_a_mock_dying_mid_run_is_graded_from_what_it_recorded_and_says_so(run_script, monkeypatch):
    # Whatever kills the mock (its budget, a crash), the script must not be able
    # to turn its own run into "not gradable": the calls recorded so far stand.
    zygote = shared_zygote()
    opened = []
    original = zygote.start_server

    def spy(run_dir, **options):
        opened.append((run_dir, options["uid"]))
        return original(run_dir, **options)

    def kill_after_the_first_call() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if opened and os.path.exists(record := os.path.join(opened[0][0], "record.jsonl")):
                with open(record) as lines:
                    if lines.readline().endswith("\n"):
                        slots.kill_uid_processes(opened[0][1])
                        return
            time.sleep(0.02)

    monkeypatch.setattr(zygote, "start_server", spy)
    killer = threading.Thread(target=kill_after_the_first_call)
    killer.start()
    record = run_script(SLEEPY)
    killer.join()
    assert [c.operation for c in record.calls] == ["CreateBucket"]
    assert record.final_state == {"sleepy-bucket": {}}
    assert record.mock_incident and "ended during the run" in record.mock_incident


def test_a_dead_zygote_is_restarted_for_the_next_run(run_script):
    run_script(HEALTHY)
    zygote = shared_zygote()
    zygote.process.kill()
    zygote.process.wait()
    record = run_script(HEALTHY)
    assert record.exit_code == 0 and [c.operation for c in record.calls] == ["CreateBucket"]


def test_a_full_disk_for_run_directories_is_an_infrastructure_error(run_script, monkeypatch):
    full = tempfile.mkdtemp(prefix="labgrader-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=755", "tmpfs", full], check=True)
    try:
        with open(os.path.join(full, "filler"), "wb") as filler:
            try:
                filler.write(b"x" * 65536)
            except OSError:
                pass
        monkeypatch.setenv("LABGRADER_WORK_DIR", full)
        with pytest.raises(InfrastructureError, match="No space left on device"):
            run_script(HEALTHY)
    finally:
        subprocess.run(["umount", full], check=True)
        os.rmdir(full)


def test_a_zygote_whose_owner_was_killed_removes_its_control_directory():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    owner_code = (
        "from engine.motoserver import shared_zygote; import time; z = shared_zygote(); "
        "z.ensure_started(); print(z.control_dir, flush=True); time.sleep(120)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_code], cwd=repo, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": repo}
    )
    control_dir = owner.stdout.readline().decode().strip()
    assert os.path.isdir(control_dir)
    owner.kill()  # a Celery pool process SIGKILLed: no atexit, no close()
    owner.wait()
    owner.stdout.close()
    deadline = time.monotonic() + 10
    while os.path.exists(control_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(control_dir)


def test_a_new_zygote_removes_the_control_directories_of_zygotes_killed_with_their_owner():
    stale = tempfile.mkdtemp(prefix="labgrader-moto-")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(os.path.join(stale, "control.sock"))
    listener.close()  # the socket file stays; nobody listens: its zygote was SIGKILLed
    zygote = MotoZygote()
    try:
        zygote.ensure_started()
        assert not os.path.exists(stale)
        assert os.path.exists(zygote.control_path)  # its own is left alone
    finally:
        zygote.close()


def test_a_control_directory_whose_zygote_died_before_it_listened_is_removed_once_it_is_old():
    # Killed with its owner while it was still importing: no socket was ever made.
    starting = tempfile.mkdtemp(prefix="labgrader-scripts-")
    dead = tempfile.mkdtemp(prefix="labgrader-scripts-")
    long_ago = time.time() - zygote_module.START_TIMEOUT_S - 5
    os.utime(dead, (long_ago, long_ago))
    try:
        zygote_module.remove_stale_control_dirs("labgrader-scripts-")
        assert not os.path.exists(dead)
        assert os.path.exists(starting)  # young: a zygote may be starting there now
    finally:
        shutil.rmtree(starting, ignore_errors=True)
        shutil.rmtree(dead, ignore_errors=True)


def test_another_zygotes_sweep_probing_our_control_socket_leaves_us_serving(run_script):
    # A zygote starting in another worker process sweeps dead zygotes' control
    # directories by connecting to each socket and hanging up: ours must shrug that off.
    run_script(HEALTHY)
    zygote = shared_zygote()
    for _ in range(3):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.connect(zygote.control_path)
        probe.close()
    time.sleep(0.2)
    assert zygote.process.poll() is None, "the zygote died of a probe"
    record = run_script(HEALTHY)
    assert record.exit_code == 0 and [c.operation for c in record.calls] == ["CreateBucket"]


def test_a_run_directory_left_by_a_grader_killed_mid_run_is_removed_by_the_next(run_script, monkeypatch):
    # What a SIGKILLed worker leaves: its run dir, holding the student's submission, and its
    # lock file, free now. A worker in another pid namespace sharing the work dir (a container)
    # still holds the lock of its run: that one stays, whatever the pids say.
    work_dir = os.environ["LABGRADER_WORK_DIR"]
    orphan = os.path.join(work_dir, "labgrader-run-1045-abc123")
    os.makedirs(os.path.join(orphan, "submission"))
    with open(os.path.join(orphan, "submission", "main.py"), "w") as submission:
        submission.write("print('a student's work')\n")
    open(os.path.join(orphan, ".lock"), "w").close()
    unlocked = os.path.join(work_dir, "labgrader-run-77-killed-before-its-lock")
    os.makedirs(unlocked)
    os.utime(unlocked, (time.time() - 3600, time.time() - 3600))
    elsewhere = os.path.join(work_dir, "labgrader-run-1045-inuse")
    os.makedirs(elsewhere)
    open(os.path.join(elsewhere, ".lock"), "w").close()
    holder = subprocess.Popen(
        ["unshare", "--pid", "--fork", "flock", "--exclusive", os.path.join(elsewhere, ".lock"), "sleep", "60"]
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "flock" not in _lock_holders(os.path.join(elsewhere, ".lock")):
            time.sleep(0.05)
        from engine import runner

        monkeypatch.setattr(runner, "_swept", set())
        record = run_script(HEALTHY)
        assert record.exit_code == 0
        assert not os.path.exists(orphan) and not os.path.exists(unlocked)
        assert os.path.exists(elsewhere)
    finally:
        holder.kill()
        holder.wait()
    shutil.rmtree(elsewhere)


def _lock_holders(path: str) -> str:
    """The commands holding a lock on path (from /proc/locks): to wait until flock holds it."""
    inode = os.stat(path).st_ino
    holders = []
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if fields[5].endswith(f":{inode}") and fields[4].isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{fields[4]}/comm") as comm:
                    holders.append(comm.read().strip())
    return " ".join(holders)
