"""Scripts are forks of a Python that already imported boto3 (engine/script_zygote.py):
each still runs as `python script.py` would, alone, in its own run's sandbox."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from engine import sandbox, script_host

LAB = "/home/student/lab"


def bare_run(source: str, stdin: str = "student\n") -> tuple[subprocess.CompletedProcess, str]:
    """The same script run by the runtime's Python the ordinary way, outside any sandbox."""
    directory = tempfile.mkdtemp(prefix="labgrader-test-bare-")
    try:
        with open(os.path.join(directory, "main.py"), "w") as handle:
            handle.write(textwrap.dedent(source))
        with open(os.path.join(directory, "stdin"), "w") as handle:
            handle.write(stdin)
        with open(os.path.join(directory, "stdin"), "rb") as stdin_file:  # a file, as a run's stdin is
            return subprocess.run(
                [sandbox.runtime_python(), "main.py"],
                cwd=directory,
                stdin=stdin_file,
                capture_output=True,
                env={"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"},
                check=False,
            ), directory
    finally:
        for name in os.listdir(directory):
            os.remove(os.path.join(directory, name))
        os.rmdir(directory)


def test_a_script_sees_itself_run_as_python_main_py_would_run_it(run_script):
    record = run_script("""
        import os, sys
        import boto3
        print(sys.argv, __file__, sys.path[0], __name__, __spec__, sys.orig_argv[1:])
        print(os.getcwd(), input("name? "), sys.modules["__main__"].__file__)
        print(sorted(int(fd) for fd in os.listdir("/proc/self/fd")))
        print(boto3.__file__.startswith(sys.prefix), sys.executable)
    """)
    assert record.exit_code == 0, record.stderr
    lines = record.stdout.splitlines()
    assert lines[0] == f"['main.py'] {LAB}/main.py {LAB} __main__ None ['main.py']"
    assert lines[1] == f"name? {LAB} student {LAB}/main.py"  # input()'s prompt comes first
    assert lines[2] == "[0, 1, 2, 3]"  # stdin, stdout, stderr and listdir's own: nothing of the zygote's
    assert lines[3] == f"True {sandbox.runtime_python()}"


def test_the_standard_streams_are_made_as_a_bare_interpreter_makes_them(run_script):
    source = """
        import sys
        for stream in (sys.stdin, sys.stdout, sys.stderr):
            print(stream.name, stream.mode, stream.encoding, stream.errors, repr(stream.newlines),
                  stream.line_buffering, stream.write_through, stream.seekable(), stream.isatty(),
                  type(stream.buffer).__name__)
        print(sys.stdin is sys.__stdin__, sys.stdin.readline().strip(), sys.stdin.tell())
    """
    record = run_script(source)
    bare, _ = bare_run(source)
    assert record.exit_code == 0, record.stderr
    assert record.stdout == bare.stdout.decode()
    assert record.stdout.splitlines()[-1] == "True student 8"


def test_an_uncaught_exception_prints_the_traceback_a_bare_run_prints_and_exits_1(run_script):
    source = """
        def fail(depth):
            if depth == 0:
                raise KeyError("missing")
            fail(depth - 1)

        print("before")
        fail(2)
    """
    record = run_script(source)
    bare, bare_dir = bare_run(source)
    assert record.exit_code == bare.returncode == 1
    assert record.stdout == bare.stdout.decode() == "before\n"
    assert record.stderr == bare.stderr.decode().replace(bare_dir, LAB)
    assert record.stderr.startswith(f'Traceback (most recent call last):\n  File "{LAB}/main.py", line 8, in <module>')


def test_syntax_errors_and_sys_exit_end_a_run_as_they_end_a_bare_one(run_script):
    for source in ("def broken(:\n    pass\n", "import sys\nsys.exit('gave up')\n", "raise SystemExit(7)\n"):
        record = run_script(source)
        bare, bare_dir = bare_run(source)
        assert (record.exit_code, record.stderr) == (bare.returncode, bare.stderr.decode().replace(bare_dir, LAB))
    assert record.exit_code == 7


def test_the_interpreter_shuts_down_as_usual_threads_atexit_and_finalizers(run_script):
    record = run_script("""
        import atexit, threading, time

        class Goodbye:
            def __del__(self):
                print("finalizer ran")

        keep = Goodbye()
        atexit.register(lambda: print("atexit ran"))
        threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
        print("main done", end="")
    """)
    assert record.exit_code == 0, record.stderr
    assert record.stdout == "main donethread finished\natexit ran\nfinalizer ran\n"


def test_what_one_script_changes_in_the_warm_interpreter_is_gone_for_the_next(run_script):
    poison = run_script("""
        import boto3, botocore.client, sys
        boto3.client = lambda *a, **k: "poisoned"
        sys.modules["json"] = None
        botocore.client.BaseClient.__init__ = None
        print("poisoned")
    """)
    assert poison.stdout == "poisoned\n"
    record = run_script("""
        import json, boto3
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="still-clean")
        print(json.dumps([b["Name"] for b in s3.list_buckets()["Buckets"]]))
    """)
    assert record.exit_code == 0, record.stderr
    assert record.stdout == '["still-clean"]\n'


def test_the_script_cannot_see_or_signal_the_zygote_or_its_keeper(run_script):
    zygote = script_host.shared_script_zygote()
    record = run_script("""
        import os
        mine = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(mine)
        for pid in range(1, 400):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            print("signalable", pid)
    """)
    # bwrap's init, the placeholder and the script: the zygote and the keeper live outside.
    assert record.stdout.splitlines()[0] == "[1, 2, 3]"
    assert record.stdout.splitlines()[1:] == ["signalable 1", "signalable 2", "signalable 3"]
    assert zygote.process is not None and zygote.process.poll() is None


def test_a_killed_zygote_is_started_again_and_the_next_run_is_graded(run_script):
    first = run_script("print('one')")
    zygote = script_host.shared_script_zygote()
    old_pid = zygote.process.pid
    os.kill(old_pid, signal.SIGKILL)
    zygote.process.wait()
    record = run_script("print('two')")
    assert (first.stdout, record.stdout, record.exit_code) == ("one\n", "two\n", 0)
    assert zygote.process.pid != old_pid


def test_a_worker_without_cap_sys_admin_still_runs_scripts_in_their_sandboxes():
    # A container's worker (docker-compose.yml) has no CAP_SYS_ADMIN: the keeper joins a
    # run's namespaces as the owner of bwrap's user namespace, not with root's power.
    repo = Path(__file__).resolve().parents[2]
    work_dir = tempfile.mkdtemp(prefix="labgrader-test-")
    os.chmod(work_dir, 0o755)
    try:
        result = subprocess.run(
            [
                "setpriv",
                "--bounding-set",
                "-sys_admin",
                "--",
                sys.executable,
                "manage.py",
                "grade",
                "--json",
                "assignments/s3-content-manager/solutions/correct_client.py",
            ],
            cwd=repo,
            capture_output=True,
            env={**os.environ, "LABGRADER_WORK_DIR": work_dir},
            timeout=120,
            check=False,
        )
        leftovers = os.listdir(work_dir)
    finally:
        shutil.rmtree(work_dir)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout)
    assert (report["score"], report["max_score"]) == (10, 10), report["run"]["stderr"]
    assert leftovers == []
