"""Hostile scripts, run for real: each is stopped by a named limit and the grader stays healthy."""

import os

import pytest

from tests.labs import lab06

three_objects = lab06("three_objects")

UPLOAD_THREE = """
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="lab-x")
for name in ("a.txt", "b.txt", "c.txt"):
    s3.put_object(Bucket="lab-x", Key=name, Body=b"text")
print("uploaded", flush=True)
"""

HEALTHY = """
import boto3
boto3.client("s3").create_bucket(Bucket="still-works")
print("ok")
"""


def assert_grader_still_healthy(run_script):
    record = run_script(HEALTHY)
    assert record.exit_code == 0, record.stderr
    assert [c.operation for c in record.calls] == ["CreateBucket"]


def test_a_busy_loop_is_stopped_at_the_wall_limit_and_its_work_still_counts(run_script):
    record = run_script(UPLOAD_THREE + "while True:\n    pass\n", wall_s=4)
    assert record.timed_out and record.exit_code is None
    assert 4 <= record.duration_s < 8
    assert "uploaded" in record.stdout
    assert three_objects.check(record).passed


def test_sleeping_forever_is_stopped_at_the_wall_limit(run_script):
    record = run_script("import time\nprint('zzz', flush=True)\ntime.sleep(10**6)\n", wall_s=3)
    assert record.timed_out and record.stdout == "zzz\n"


def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing(run_script):
    record = run_script(
        """
        import os
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    import time
                    time.sleep(1000)
                children += 1
        except OSError as error:
            print("stopped after", children, "forks:", error, flush=True)
    """,
        wall_s=5,
    )
    assert "Resource temporarily unavailable" in record.stdout
    forks = int(record.stdout.split("after ")[1].split()[0])
    assert forks < 64
    assert_grader_still_healthy(run_script)


def test_a_memory_hog_gets_memory_error(run_script):
    record = run_script("x = bytearray(2 * 1024**3)\n")
    assert record.exit_code == 1
    assert "MemoryError" in record.stderr


def test_connecting_to_redis_postgres_or_any_local_port_is_refused(run_script):
    record = run_script("""
        import socket
        for port in (6379, 5432, 3306, 5672, 8000, 22):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2)
                print(port, "REACHED")
            except OSError as error:
                print(port, "refused", error.errno)
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=2)
            print("internet REACHED")
        except OSError as error:
            print("internet unreachable", error.errno)
    """)
    assert "REACHED" not in record.stdout
    assert record.stdout.count("refused") == 6 and "internet unreachable" in record.stdout


def test_the_unix_sockets_of_redis_and_postgres_are_not_there(run_script):
    record = run_script("""
        import glob
        print(glob.glob("/var/run/*") + glob.glob("/run/postgresql/*") + glob.glob("/tmp/.s.PGSQL*"))
    """)
    assert record.stdout.strip() == "[]"


def test_the_moto_control_api_is_refused_so_state_cannot_be_reset(run_script):
    record = run_script(
        UPLOAD_THREE
        + """
import urllib.request
for path in ("/moto-api/reset", "/moto-api/data.json", "/moto-api/seed?a=1"):
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:4566" + path, method="POST"))
        print(path, "ACCEPTED")
    except Exception as error:
        print(path, error)
"""
    )
    assert "ACCEPTED" not in record.stdout and "403" in record.stdout
    assert [c.status for c in record.calls if c.operation == "MotoApi"] == [403, 403, 403]
    assert set(record.final_state["lab-x"]) == {"a.txt", "b.txt", "c.txt"}


def test_the_graders_files_environment_and_secrets_are_unreadable(run_script, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "grader-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgres://grader:pw-456@localhost/db")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    record = run_script(f"""
        import glob, os
        print(dict(os.environ))
        for path in ["/etc/shadow", "/root/.bashrc", {repo + "/grader/settings.py"!r}, "/proc/1/environ",
                     "/proc/self/environ"] + glob.glob("/proc/*/environ"):
            try:
                print(path, open(path, "rb").read()[:200])
            except OSError as error:
                print(path, "unreadable", error.strerror)
        print(sorted(os.listdir("/")))
    """)
    assert "grader-secret-123" not in record.stdout + record.stderr
    assert "pw-456" not in record.stdout + record.stderr
    assert "/etc/shadow unreadable" in record.stdout and "settings.py unreadable" in record.stdout
    assert "/root/.bashrc unreadable" in record.stdout
    assert "root" not in record.stdout.split("[")[-1]  # "/" holds no /root, /work, /var


def test_a_double_forked_daemon_dies_with_the_run(run_script):
    record = run_script("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(1)
            os._exit(0)
        print("daemon started", flush=True)
    """)
    assert record.exit_code == 0 and "daemon started" in record.stdout
    # nothing_left_behind (conftest) checks that no sandbox process survived.


def test_killing_every_visible_pid_only_kills_the_sandbox(run_script):
    record = run_script("""
        import os, signal
        for pid in range(1, 2000):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    """)
    assert record.exit_code is not None
    assert_grader_still_healthy(run_script)


def test_hundreds_of_megabytes_on_stdout_are_cut_at_the_limit(run_script):
    record = run_script(
        """
        import sys
        block = "x" * 1023 + "\\n"
        for _ in range(300 * 1024):
            sys.stdout.write(block)
        sys.stderr.write("e" * 100000)
    """,
        wall_s=20,
    )
    assert record.exit_code == 0
    assert record.stdout_truncated and len(record.stdout) == 64 * 1024
    assert record.stderr_truncated and len(record.stderr) == 64 * 1024


def test_invalid_utf8_and_nul_bytes_in_output_are_made_printable(run_script):
    record = run_script("import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe bad \\x00 nul\\n')\n")
    assert record.stdout == "ok \ufffd\ufffd bad \u2400 nul\n"


def test_a_huge_file_hits_the_file_size_limit(run_script):
    record = run_script("""
        try:
            with open("big.bin", "wb") as f:
                f.write(b"x" * (100 * 1024 * 1024))
        except OSError as error:
            print("refused:", error)
    """)
    # Python ignores SIGXFSZ, so RLIMIT_FSIZE shows as EFBIG on the write.
    assert "refused: [Errno 27] File too large" in record.stdout


def test_many_small_files_hit_the_disk_quota(run_script):
    record = run_script("""
        try:
            for i in range(1000):
                with open(f"f{i}.bin", "wb") as f:
                    f.write(b"x" * (1024 * 1024))
        except OSError as error:
            print("stopped at", i, error.strerror)
    """)
    assert "No space left on device" in record.stdout


def test_writing_outside_the_working_dir_is_refused(run_script):
    record = run_script("""
        for path in ("/usr/evil", "/etc/evil", "/opt/labgrader/runtime/evil", "/run/lab/submission/evil"):
            try:
                open(path, "w").write("x")
                print(path, "WRITTEN")
            except OSError as error:
                print(path, error.strerror)
    """)
    assert "WRITTEN" not in record.stdout
    assert not os.path.exists("/opt/labgrader/runtime/evil")


@pytest.mark.parametrize("calls", [3000])
def test_thousands_of_s3_calls_are_recorded_within_bounds(run_script, calls):
    record = run_script(
        f"""
        import boto3
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="many")
        for i in range({calls}):
            s3.head_bucket(Bucket="many")
    """,
        wall_s=60,
    )
    assert record.exit_code == 0, record.stderr[-500:]
    assert len(record.calls) + record.calls_dropped == calls + 1


def test_a_sandbox_that_cannot_start_is_an_infrastructure_error_not_a_grade(run_script, monkeypatch):
    from engine.errors import InfrastructureError

    monkeypatch.setenv("LABGRADER_SANDBOX_RUNTIME", "/nonexistent-runtime")
    with pytest.raises(InfrastructureError, match="sandbox runtime missing"):
        run_script(HEALTHY)


def test_an_unreachable_work_dir_is_an_infrastructure_error(run_script, monkeypatch, tmp_path):
    from engine.errors import InfrastructureError

    monkeypatch.setenv("LABGRADER_WORK_DIR", str(tmp_path))  # under pytest's 0700 root
    with pytest.raises(InfrastructureError, match="not reachable by the sandbox uid"):
        run_script(HEALTHY)


def test_forked_memory_hogs_share_one_budget_for_the_whole_run(run_script):
    # Each child stays under the per-process limit; together they are far over the run's 512 MiB.
    record = run_script(
        """
        import os, time
        pids = []
        for i in range(6):
            pid = os.fork()
            if pid == 0:
                x = bytearray(300 * 1024 * 1024)
                time.sleep(2)
                os._exit(0)
            pids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
        print(sum(code == 0 for code in codes), "of 6 children held 300 MB at once")
    """,
        wall_s=20,
    )
    assert record.memory_scope == "run", "this machine lets us make cgroups: the run must have one"
    held = int(record.stdout.split()[0]) if record.stdout else 0
    assert held <= 1 and record.oom_killed
