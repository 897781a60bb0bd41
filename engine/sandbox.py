"""Runs one script under bubblewrap, as an unprivileged per-run uid.

What stops what (docs/engine.md, "The sandbox"): the network namespace leaves only
loopback, where the script's Python hands the run's own moto server its listener
(engine/mock_bridge.py); the mount namespace
shows /usr, the boto3 runtime and the submission, nothing of the service, and
one size-capped tmpfs is all the run can write; a pid namespace ends every
process of the run when the script exits; rlimits bound memory, processes,
file size and CPU (set by launch.sh, before the script); the wall clock is ours. The launcher chain starts from a
minimal environment in "/", so not even bwrap's own init (which the script
can see) holds anything of the grader.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import slots
from engine.cgroups import RunCgroup
from engine.errors import InfrastructureError
from engine.limits import Limits

DEFAULT_RUNTIME = "/opt/labgrader/runtime"
# Read by the grader and handed to bash inline: nothing the sandbox uid needs is
# reached through the checkout's path, which may be 0700 (a clone in /root).
_LAUNCHER = Path(__file__).with_name("launch.sh")
# The run's one disk: a size-capped tmpfs holding HOME and, behind the /tmp and
# /dev/shm symlinks, the temporary files and POSIX semaphores (Limits.disk_mib).
_DISK = "/home"
_HOME = "/home/student"
_LAB = "/home/student/lab"  # the script's working directory, holding a copy of its files
_TMP = "/home/.tmp"
_SHM = "/home/.shm"
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_MOTO_PORT = 4566
# Environment of the launcher chain (cgroup-enter, setpriv, bwrap).
# bwrap's own init inherits it and the script can read /proc/1/environ, so it
# must hold nothing of the grader's: no SECRET_KEY, DATABASE_URL, REDIS_URL.
_LAUNCH_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
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
    if runtime not in _bridged_runtimes:
        from engine.runtime import bridge_is_current

        # Without it no call reaches the mock, and every script would lose its points for it.
        if not bridge_is_current(Path(runtime)):
            raise InfrastructureError(
                f"the sandbox runtime at {runtime} lacks this engine's mock bridge: "
                "update it with `python -m engine.runtime`"
            )
        _bridged_runtimes.add(runtime)
    return python


_bridged_runtimes: set[str] = set()  # checked once per process


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
    moto_socket: str,
    entry_point: str,
    uid: int,
    limits: Limits,
    started_fd: int,
    file_args: list[str] = (),
) -> list[str]:
    """The launcher chain, with absolute paths only: it starts in "/".
    file_args: the submission's copy into the run's disk (_submission_files)."""
    python = os.path.abspath(runtime_python())
    runtime = str(Path(python).parent.parent)
    etc = _write_etc(Path(os.path.abspath(run_dir)), uid)
    command = []
    if slots.dedicated_uids():
        # bwrap run as root with --uid keeps host root privileges: drop them first.
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]
    command += [
        "bwrap",
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        *_system_mounts(runtime),
        *_dev_mounts(),
        *_disk_mounts(limits),
        *_run_mounts(etc, os.path.abspath(moto_socket)),
        *file_args,
        # Only the disk (and the device nodes) stay writable.
        "--remount-ro",
        "/",
        *_env_args(runtime),
        "--chdir",
        _LAB,
        "--",
        "/bin/bash",
        "-c",
        _LAUNCHER.read_text(),
        "launch.sh",
        python,
        entry_point,
        str(started_fd),
        *_ulimit_options(limits),
    ]
    return command


def _ulimit_options(limits: Limits) -> list[str]:
    """The run's rlimits, soft and hard, as options of bash's `ulimit` (launch.sh sets them)."""
    return [
        *("-v", str(limits.memory_mib * 1024)),  # address space, KiB
        *("-u", str(limits.processes)),
        *("-f", str(limits.file_size_mib * 1024)),  # file size, 1 KiB blocks
        *("-n", str(limits.open_files)),
        *("-t", str(int(limits.wall_s) + 5)),  # CPU seconds
        *("-c", "0"),
    ]


def _system_mounts(runtime: str) -> list[str]:
    return [
        *("--ro-bind", "/usr", "/usr"),
        *("--symlink", "usr/bin", "/bin"),
        *("--symlink", "usr/lib", "/lib"),
        *("--symlink", "usr/lib64", "/lib64"),
        *("--symlink", "usr/sbin", "/sbin"),
        *("--ro-bind", runtime, runtime),
        *("--proc", "/proc"),
    ]


def _dev_mounts() -> list[str]:
    # Not bwrap's --dev: that is a writable tmpfs with no size cap (and /dev/shm
    # in it), a disk outside every budget when no cgroup exists. Here /dev holds
    # the usual device nodes and links, and is read-only.
    args = ["--tmpfs", "/dev"]
    for device in _DEVICES:
        args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    args += ["--symlink", "/proc/self/fd", "/dev/fd"]
    for number, stream in enumerate(("stdin", "stdout", "stderr")):
        args += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{stream}"]
    args += ["--symlink", _SHM, "/dev/shm", "--remount-ro", "/dev"]
    return args


def _disk_mounts(limits: Limits) -> list[str]:
    # One tmpfs, so HOME, /tmp and /dev/shm share one budget (Limits.disk_mib);
    # HOME stays a real directory, so the working dir reads /home/student/lab.
    args = ["--size", str(limits.disk_mib * 1024 * 1024), "--tmpfs", _DISK]
    for directory in (_HOME, f"{_HOME}/.aws", _LAB, _TMP, _SHM):
        args += ["--dir", directory]
    args += ["--symlink", _TMP, "/tmp"]
    return args


def _run_mounts(etc: Path, moto_socket: str) -> list[str]:
    return [
        *("--ro-bind", str(etc / "passwd"), "/etc/passwd"),
        *("--ro-bind", str(etc / "group"), "/etc/group"),
        *("--ro-bind", str(etc / "hosts"), "/etc/hosts"),
        *("--bind", moto_socket, "/run/lab/moto.sock"),
    ]


def _submission_files(submission_dir: Path) -> tuple[list[str], list[int]]:
    """bwrap options that copy the staged submission into the run's disk, and the
    descriptors they read: bwrap copies each file as it builds the sandbox, in the
    sandbox's own user namespace, so no `cp` process runs. The caller closes them."""
    args: list[str] = []
    fds: list[int] = []
    try:
        for directory, subdirectories, names in os.walk(submission_dir):
            subdirectories.sort()
            relative = os.path.relpath(directory, submission_dir)
            target = _LAB if relative == "." else f"{_LAB}/{relative}"
            if relative != ".":
                args += ["--dir", target]
            for name in sorted(names):
                fds.append(os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC))
                args += ["--perms", "0644", "--file", str(fds[-1]), f"{target}/{name}"]
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    return args, fds


def _env_args(runtime: str) -> list[str]:
    env = {**_BASE_ENV, "PATH": f"{runtime}/bin:/usr/bin:/bin"}
    return [arg for name, value in env.items() for arg in ("--setenv", name, value)]


class _StreamKeeper:
    """Keeps the first `limit` bytes of a stream and drains (drops) the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.kept = bytearray()
        self.truncated = False
        self.total = 0  # every byte the stream carried, kept or not

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]
        if len(chunk) > room:
            self.truncated = True


def run_sandboxed(
    *,
    run_dir: Path,
    submission_dir: Path,
    moto_socket: str,
    entry_point: str,
    stdin: bytes,
    limits: Limits,
    uid: int,
    cgroup: RunCgroup | None = None,
    stdout_sync: socket.socket | None = None,
    mock_ready: Callable[[], None] | None = None,
) -> ProcessOutcome:
    """cgroup: the run's, made by the caller, who removes it (None: rlimits only).
    mock_ready: called once the sandbox is starting; the run's mock is forked
    meanwhile. If it raises, the sandbox is killed and the error goes on up."""
    # The launcher writes to this pipe once bwrap's setup succeeded: silence
    # means the sandbox, not the script, failed.
    file_args, file_fds = _submission_files(submission_dir)
    started_read, started_write = os.pipe()
    command = sandbox_command(
        run_dir=run_dir,
        moto_socket=moto_socket,
        entry_point=entry_point,
        uid=uid,
        limits=limits,
        started_fd=started_write,
        file_args=file_args,
    )
    stdin_path = run_dir / "stdin"
    stdin_path.write_bytes(stdin)
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
                # Nothing of ours but the started pipe and the submission's files (bwrap
                # closes those once copied): not our variables, not our cwd (the checkout).
                pass_fds=(started_write, *file_fds),
                env=_LAUNCH_ENV,
                cwd="/",
            )
    except OSError as error:
        os.close(started_read)
        raise InfrastructureError(f"could not start the sandbox: {error}") from error
    finally:
        os.close(started_write)
        for fd in file_fds:
            os.close(fd)
    keepers = {
        process.stdout: _StreamKeeper(limits.output_kib * 1024),
        process.stderr: _StreamKeeper(limits.output_kib * 1024),
    }
    if mock_ready is not None:
        try:
            mock_ready()
        except BaseException:
            _kill_sandbox(process)
            _close_pipes(process)
            _end_leftovers(cgroup, uid)
            os.close(started_read)
            raise
    timed_out = _pump_until_exit(process, keepers, started + limits.wall_s, stdout_sync)
    duration = time.monotonic() - started
    oom_killed = cgroup is not None and cgroup.oom_killed()
    _end_leftovers(cgroup, uid)
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


def _end_leftovers(cgroup: RunCgroup | None, uid: int) -> None:
    """Kill whatever of the run is still alive: all of it is in its cgroup when there
    is one (a cheap read), else every process of its uid (a look through /proc)."""
    if cgroup is not None:
        cgroup.kill_processes()
        slots.reap_orphans(uid)
    else:
        slots.kill_uid_processes(uid)  # reaps them too


def _exit_code(returncode: int) -> int:
    # A negative code is a signal; report it the way a shell would (128 + n).
    return 128 - returncode if returncode < 0 else returncode


def _pump_until_exit(
    process: subprocess.Popen, keepers: dict, deadline: float, stdout_sync: socket.socket | None = None
) -> bool:
    """Drain both pipes until the sandbox ends; kill it at the deadline. True if it timed out.

    stdout_sync: the run's mock asks on it, before and after each call it serves,
    how much the script has written to stdout. We drain the pipe first, then
    answer: whatever the script wrote before it sent the call is in the pipe by
    then, so the count is causal, not a comparison of two clocks.

    Raw epoll over descriptors: this loop turns over a few times per call the
    script makes, in the grading process, and selectors' bookkeeping was most of it.
    """
    open_streams = {stream.fileno(): keeper for stream, keeper in keepers.items()}
    stdout = next(iter(keepers))
    stdout_fd, stdout_keeper = stdout.fileno(), keepers[stdout]
    sync_fd = stdout_sync.fileno() if stdout_sync is not None else None
    poller = select.epoll()
    timed_out = False
    try:
        for fd in open_streams:
            os.set_blocking(fd, False)
            poller.register(fd, select.EPOLLIN)
        if sync_fd is not None:
            poller.register(sync_fd, select.EPOLLIN)
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                _kill_sandbox(process)
                break
            for fd, _ in poller.poll(min(remaining, 0.5)):
                if fd == sync_fd:
                    if not _answer_sync(poller, stdout_sync, stdout_fd, stdout_keeper, open_streams):
                        sync_fd = None
                elif fd in open_streams:
                    _read_some(poller, fd, open_streams)
    finally:
        poller.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill_sandbox(process)
        process.wait()
    _close_pipes(process)
    return timed_out


def _close_pipes(process: subprocess.Popen) -> None:
    for stream in (process.stdout, process.stderr):
        stream.close()


def _read_some(poller: select.epoll, fd: int, open_streams: dict[int, _StreamKeeper]) -> bool:
    """One read; False when the pipe is empty for now or closed (then it leaves open_streams)."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return False
    if chunk:
        open_streams[fd].feed(chunk)
        return True
    poller.unregister(fd)
    del open_streams[fd]
    return False


def _answer_sync(
    poller: select.epoll, sync: socket.socket, stdout_fd: int, stdout: _StreamKeeper, open_streams: dict
) -> bool:
    """Answers the mock's questions; False once it hung up (then it is unregistered)."""
    try:
        asked = sync.recv(4096)
    except OSError:
        asked = b""
    if not asked:
        poller.unregister(sync.fileno())
        return False
    while stdout_fd in open_streams and _read_some(poller, stdout_fd, open_streams):
        pass
    with contextlib.suppress(OSError):
        sync.sendall(f"{stdout.total}\n".encode() * asked.count(b"?"))
    return True


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
