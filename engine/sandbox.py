"""Runs one script under bubblewrap, as an unprivileged per-run uid.

What stops what (see docs/sandbox.md): the network namespace leaves only
loopback, where the run's own moto server is bridged in; the mount namespace
shows /usr, the boto3 runtime and the submission, nothing of the service; a
pid namespace ends every process of the run when the script exits; rlimits
bound memory, processes, file size and CPU; the wall clock is ours.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from engine import slots
from engine.cgroups import run_cgroup
from engine.errors import InfrastructureError
from engine.limits import Limits

DEFAULT_RUNTIME = "/opt/labgrader/runtime"
_LAUNCHER = Path(__file__).with_name("launch.sh")
_HOME = "/home/student"
_MOTO_PORT = 4566
# Environment of the script: the spec's list, plus PATH and a UTF-8 locale so
# that print() of non-ASCII text works as on a student's machine.
_BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_MOTO_PORT}",
    "PYTHONUNBUFFERED": "1",
    "HOME": _HOME,
    "LANG": "C.UTF-8",
}


@dataclass
class ProcessOutcome:
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    oom_killed: bool = False
    # "run": one memory budget for all the run's processes (a cgroup);
    # "process": RLIMIT_AS per process only (no cgroup could be made here).
    memory_scope: str = "process"


def runtime_python() -> str:
    runtime = os.environ.get("LABGRADER_SANDBOX_RUNTIME", DEFAULT_RUNTIME)
    python = os.path.join(runtime, "bin", "python")
    if not os.path.exists(python):
        raise InfrastructureError(f"sandbox runtime missing at {runtime}: build it with `python -m engine.runtime`")
    return python


def _write_etc(run_dir: Path, uid: int) -> Path:
    etc = run_dir / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(f"student:x:{uid}:{uid}:Student:{_HOME}:/bin/sh\n")
    (etc / "group").write_text(f"student:x:{uid}:\n")
    (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    for path in etc.iterdir():
        path.chmod(0o644)
    etc.chmod(0o755)
    return etc


def sandbox_command(
    *,
    run_dir: Path,
    submission_dir: Path,
    moto_socket: str,
    entry_point: str,
    uid: int,
    limits: Limits,
    started_fd: int,
) -> list[str]:
    python = runtime_python()
    runtime = str(Path(python).parent.parent)
    etc = _write_etc(run_dir, uid)
    mib = 1024 * 1024
    command = [
        "prlimit",
        f"--as={limits.memory_mib * mib}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.file_size_mib * mib}",
        f"--nofile={limits.open_files}",
        f"--cpu={int(limits.wall_s) + 5}",
        "--core=0",
        "--",
    ]
    if slots.dedicated_uids():
        # bwrap run as root with --uid keeps host root privileges: drop them first.
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]
    env_args = [arg for name, value in _BASE_ENV.items() for arg in ("--setenv", name, value)]
    env_args += ["--setenv", "PATH", f"{runtime}/bin:/usr/bin:/bin"]
    command += [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.tmp_mib * mib),
        "--tmpfs",
        "/tmp",
        "--size",
        str(limits.disk_mib * mib),
        "--tmpfs",
        _HOME,
        "--ro-bind",
        runtime,
        runtime,
        "--ro-bind",
        str(etc / "passwd"),
        "/etc/passwd",
        "--ro-bind",
        str(etc / "group"),
        "/etc/group",
        "--ro-bind",
        str(etc / "hosts"),
        "/etc/hosts",
        "--ro-bind",
        str(submission_dir),
        "/run/lab/submission",
        "--ro-bind",
        str(_LAUNCHER),
        "/run/lab/launch.sh",
        "--bind",
        moto_socket,
        "/run/lab/moto.sock",
        # Only /tmp and HOME (both size-capped tmpfs) stay writable.
        "--remount-ro",
        "/",
        *env_args,
        "--chdir",
        _HOME,
        "--",
        "/bin/bash",
        "/run/lab/launch.sh",
        python,
        entry_point,
        str(started_fd),
    ]
    return command


class _StreamKeeper:
    """Keeps the first `limit` bytes of a stream and drains (drops) the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.kept = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


def run_sandboxed(
    *, run_dir: Path, submission_dir: Path, moto_socket: str, entry_point: str, stdin: bytes, limits: Limits, uid: int
) -> ProcessOutcome:
    # The launcher writes to this pipe once bwrap's setup succeeded: silence
    # means the sandbox, not the script, failed.
    started_read, started_write = os.pipe()
    command = sandbox_command(
        run_dir=run_dir,
        submission_dir=submission_dir,
        moto_socket=moto_socket,
        entry_point=entry_point,
        uid=uid,
        limits=limits,
        started_fd=started_write,
    )
    stdin_path = run_dir / "stdin"
    stdin_path.write_bytes(stdin)
    with run_cgroup(f"slot-{uid}", limits.memory_mib * 1024 * 1024, limits.processes + 8) as cgroup:
        if cgroup is not None:
            command = cgroup.enter_prefix() + command
        started = time.monotonic()
        try:
            with open(stdin_path, "rb") as stdin_file:
                process = subprocess.Popen(
                    command,
                    stdin=stdin_file,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                    pass_fds=(started_write,),
                )
        except OSError as error:
            os.close(started_read)
            raise InfrastructureError(f"could not start the sandbox: {error}") from error
        finally:
            os.close(started_write)
        keepers = {
            process.stdout: _StreamKeeper(limits.output_kib * 1024),
            process.stderr: _StreamKeeper(limits.output_kib * 1024),
        }
        timed_out = _pump_until_exit(process, keepers, started + limits.wall_s)
        duration = time.monotonic() - started
        oom_killed = cgroup is not None and cgroup.oom_killed()
        slots.kill_uid_processes(uid)  # before the cgroup is removed: it must be empty
    out, err = keepers[process.stdout], keepers[process.stderr]
    with os.fdopen(started_read, "rb") as started_pipe:
        os.set_blocking(started_pipe.fileno(), False)
        sandbox_started = bool(started_pipe.read())
    if not sandbox_started and not timed_out:
        raise InfrastructureError("sandbox failed to start: " + err.kept.decode("utf-8", "replace").strip()[-500:])
    return ProcessOutcome(
        exit_code=None if timed_out else _exit_code(process.returncode),
        timed_out=timed_out,
        duration_s=round(duration, 3),
        stdout=bytes(out.kept),
        stderr=bytes(err.kept),
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        oom_killed=oom_killed,
        memory_scope="run" if cgroup is not None else "process",
    )


def _exit_code(returncode: int) -> int:
    # A negative code is a signal; report it the way a shell would (128 + n).
    return 128 - returncode if returncode < 0 else returncode


def _pump_until_exit(process: subprocess.Popen, keepers: dict, deadline: float) -> bool:
    """Drain both pipes until the sandbox ends; kill it at the deadline. True if it timed out."""
    selector = selectors.DefaultSelector()
    for stream in keepers:
        os.set_blocking(stream.fileno(), False)
        selector.register(stream, selectors.EVENT_READ)
    timed_out = False
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            _kill_sandbox(process)
            break
        for key, _ in selector.select(timeout=min(remaining, 0.5)):
            chunk = os.read(key.fileobj.fileno(), 65536)
            if chunk:
                keepers[key.fileobj].feed(chunk)
            else:
                selector.unregister(key.fileobj)
    selector.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill_sandbox(process)
        process.wait()
    for stream in keepers:
        stream.close()
    return timed_out


def _kill_sandbox(process: subprocess.Popen) -> None:
    # Kill bwrap's namespace init first: the kernel then kills the whole pid
    # namespace and the outer bwrap exits on its own, so nothing is orphaned.
    for pid in slots.children_of(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
