"""Runs one script under bubblewrap, as an unprivileged per-run uid.

What stops what (docs/engine.md, "The sandbox"): the network namespace leaves only
loopback, where the script's Python hands the run's own moto server its listener
(engine/mock_bridge.py); the mount namespace
shows /usr, the boto3 runtime and the submission, nothing of the service, and
one size-capped tmpfs is all the run can write; a pid namespace ends every
process of the run when the script exits; rlimits bound memory, processes,
file size and CPU (set before the script exists); the wall clock is ours. The
launcher chain starts from a minimal environment in "/", so not even bwrap's own
init (which the script can see) holds anything of the grader.

bwrap runs a placeholder (launch.sh); the script's process is a fork of the
script zygote, which imported boto3 once, joined to the placeholder's namespaces
as the run's uid (engine/script_zygote.py, docs/engine.md).
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
from engine.script_host import ScriptRun, shared_script_zygote

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
    uid: int,
    limits: Limits,
    started_fd: int,
    hold_fd: int,
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
        str(started_fd),
        str(hold_fd),
    ]
    return command


def script_limits(limits: Limits) -> dict:
    """The script's rlimits, set by its keeper before the script exists (engine/script_zygote.py)."""
    return {
        "memory_mib": limits.memory_mib,  # address space
        "processes": limits.processes,
        "file_size_mib": limits.file_size_mib,
        "open_files": limits.open_files,
        "cpu_s": int(limits.wall_s) + 5,
    }


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
    return [arg for name, value in _script_env(runtime).items() for arg in ("--setenv", name, value)]


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
    meanwhile. If it raises, the sandbox is killed and the error goes on up.

    bwrap builds the sandbox around a placeholder (launch.sh); the script itself is a
    fork of the script zygote, which already imported boto3, joined to the
    placeholder's namespaces (engine/script_zygote.py)."""
    python = runtime_python()
    file_args, file_fds = _submission_files(submission_dir)
    # The placeholder writes to this pipe once bwrap's setup succeeded: silence
    # means the sandbox, not the script, failed.
    started_read, started_write = os.pipe()
    hold_read, hold_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    ours = [started_read, hold_write, stdout_read, stdout_write, stderr_read, stderr_write]
    try:
        command = sandbox_command(
            run_dir=run_dir,
            moto_socket=moto_socket,
            uid=uid,
            limits=limits,
            started_fd=started_write,
            hold_fd=hold_read,
            file_args=file_args,
        )
        stdin_path = run_dir / "stdin"
        stdin_path.write_bytes(stdin)
        if cgroup is not None:
            command = cgroup.enter_prefix() + command
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=stdout_write,
                stderr=stderr_write,
                start_new_session=True,
                # Nothing of ours but the two pipes and the submission's files (bwrap
                # closes those once copied): not our variables, not our cwd (the checkout).
                pass_fds=(started_write, hold_read, *file_fds),
                env=_LAUNCH_ENV,
                cwd="/",
            )
        except OSError as error:
            raise InfrastructureError(f"could not start the sandbox: {error}") from error
    except BaseException:
        _close_all(ours)
        raise
    finally:
        for fd in (started_write, hold_read, *file_fds):
            os.close(fd)
    script_fds = [stdout_write, stderr_write, hold_write]  # emptied once handed to the keeper
    try:
        if mock_ready is not None:
            mock_ready()
        script = _start_script(
            process,
            python=python,
            request={"uid": uid if slots.dedicated_uids() else None, "entry": entry_point, "cwd": _LAB},
            limits=limits,
            stdin_path=stdin_path,
            cgroup=cgroup,
            started_read=started_read,
            stderr_read=stderr_read,
            script_fds=script_fds,
        )
    except BaseException:
        _close_all(script_fds)  # first: the placeholder ends on its hold pipe's EOF
        _kill_sandbox(process)
        _close_all([started_read, stdout_read, stderr_read])
        process.wait()
        _end_leftovers(cgroup, uid)
        raise
    keepers = {
        stdout_read: _StreamKeeper(limits.output_kib * 1024),
        stderr_read: _StreamKeeper(limits.output_kib * 1024),
    }
    try:
        timed_out = _pump_until_exit(process, keepers, started + limits.wall_s, stdout_sync)
        duration = time.monotonic() - started
        # The keeper said it right after the script ended, before the sandbox could.
        status = None if timed_out else script.status(timeout_s=5)
    finally:
        script.close()
        _close_all([started_read, stdout_read, stderr_read])
    oom_killed = cgroup is not None and cgroup.oom_killed()
    _end_leftovers(cgroup, uid)
    if status is None and not timed_out:
        if not oom_killed:
            raise InfrastructureError("the script's keeper ended without its exit status")
        # The keeper shares the run's memory budget; the run used all of it, and the
        # kernel chose the keeper too: the run ran out of memory, the student's to fix.
        status = signal.SIGKILL
    out, err = keepers[stdout_read], keepers[stderr_read]
    return ProcessOutcome(
        exit_code=None if timed_out else _exit_code(os.waitstatus_to_exitcode(status)),
        timed_out=timed_out,
        duration_s=round(duration, 3),
        stdout=bytes(out.kept),
        stderr=bytes(err.kept),
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        oom_killed=oom_killed,
        memory_scope="run" if cgroup is not None else "process",
    )


def _start_script(
    process: subprocess.Popen,
    *,
    python: str,
    request: dict,
    limits: Limits,
    stdin_path: Path,
    cgroup: RunCgroup | None,
    started_read: int,
    stderr_read: int,
    script_fds: list[int],
) -> ScriptRun:
    """Waits for the placeholder, then has the script zygote fork the script into its
    sandbox. script_fds: our ends of the script's stdout and stderr and of the hold
    pipe, closed here (and the list emptied) once the keeper has its own."""
    stdout_write, stderr_write, hold_write = script_fds
    fds = []
    try:
        placeholder = _wait_for_placeholder(process, started_read, stderr_read, timeout_s=_START_TIMEOUT_S)
        zygote = shared_script_zygote()
        zygote.configure(python, _script_env(str(Path(python).parent.parent)))
        fds.append(_open_placeholder(process, placeholder))
        fds.append(os.open(stdin_path, os.O_RDONLY | os.O_CLOEXEC))
        procs = [d / "cgroup.procs" for d in cgroup.directories] if cgroup is not None else []
        fds += [os.open(path, os.O_WRONLY | os.O_CLOEXEC) for path in procs]
        request = {**request, "limits": script_limits(limits)}
        script = zygote.start_run(request, [fds[0], fds[1], stdout_write, stderr_write, hold_write, *fds[2:]])
    finally:
        _close_all([*fds, *script_fds])
        script_fds.clear()
    try:
        script.started(timeout_s=_START_TIMEOUT_S)
    except BaseException:
        script.close()
        raise
    return script


_START_TIMEOUT_S = 30


def _wait_for_placeholder(process: subprocess.Popen, started_read: int, stderr_fd: int, timeout_s: float) -> int:
    """The pid of launch.sh, once it said the sandbox is up: bwrap, its init, then it."""
    poller = select.poll()
    poller.register(started_read, select.POLLIN)
    said = os.read(started_read, 64) if poller.poll(timeout_s * 1000) else b""
    if said != b"started":
        _kill_sandbox(process)
        process.wait()
        os.set_blocking(stderr_fd, False)
        try:
            why = os.read(stderr_fd, 65536).decode("utf-8", "replace").strip()[-500:]
        except BlockingIOError:
            why = ""
        raise InfrastructureError("sandbox failed to start: " + (why or "no word from it"))
    for init in slots.children_of(process.pid):
        for placeholder in slots.children_of(init):
            return placeholder
    raise InfrastructureError("sandbox started, but its placeholder is gone")


def _open_placeholder(process: subprocess.Popen, placeholder: int) -> int:
    """A pidfd of the placeholder, checked after it is open: still the only child of
    bwrap's init, so the pid was not reused by another process in between."""
    pidfd = os.pidfd_open(placeholder)
    inits = slots.children_of(process.pid)
    if not any(placeholder in slots.children_of(init) for init in inits):
        os.close(pidfd)
        raise InfrastructureError("sandbox started, but its placeholder is gone")
    return pidfd


def _script_env(runtime: str) -> dict[str, str]:
    """The script's environment: the placeholder's (bwrap --setenv) and the script zygote's,
    whose forks show it as their own /proc/self/environ."""
    return {**_BASE_ENV, "PATH": f"{runtime}/bin:/usr/bin:/bin"}


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


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
    open_streams = dict(keepers)
    stdout_fd = next(iter(keepers))
    stdout_keeper = keepers[stdout_fd]
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
    return timed_out


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
