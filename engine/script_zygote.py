"""Runs each student script in a fork of a Python that has already imported boto3.

`import boto3` is most of what a lab script costs (measured: 0.40 of 0.68 s of
CPU here), and every script pays it again. This zygote pays it once. It runs in
the sandbox runtime's own Python (engine/runtime.py installs this file there as
labgrader_script_zygote), so a script sees the same interpreter and the same
boto3 as a bare `python script.py`, and it holds nothing of the grader: it is
started as root from the script's own environment (no secret in it, and it is
what the script's /proc/self/environ shows), imports only the standard library
and boto3, and never reads a submission.

bubblewrap still builds each run's sandbox, exactly as before; only the script's
process comes from here. Per run, engine/sandbox.py starts the sandbox with a
placeholder in it (launch.sh) and, once the sandbox is up, asks for a run:

1. the zygote forks a keeper; the keeper joins the run's cgroup and rlimits,
   clears its groups, takes the run's gid and uid (the owner of bwrap's user
   namespace, so no CAP_SYS_ADMIN is needed), then joins every namespace of the
   placeholder (setns on its pidfd: user, mount, network, IPC, UTS, pid, cgroup);
2. the keeper forks the script's process, the first it makes inside the run's
   pid namespace. That process gives up every capability joining gave it, for
   good, takes the run's stdin, stdout and stderr, closes everything else, enters
   the lab directory, hands the mock its listener (engine/mock_bridge.py), says
   it is confined, and runs the script as `python script.py` would, tracebacks,
   exit codes and interpreter shutdown included;
3. the keeper, outside that pid namespace (the script cannot see or signal
   it), waits for the script, tells the grader its exit status, and exits; its
   end closes the placeholder's hold pipe, and the sandbox ends with it.

Protocol on the control socket, one connection per run:
  grader -> {"uid": N, "entry": path, "cwd": path, "limits": {...}}\\n with SCM_RIGHTS:
            [placeholder pidfd, stdin, stdout, stderr, hold pipe, cgroup.procs...]
  keeper -> {"started": true}\\n once the script's process exists, then
            {"status": wait status}\\n when it has ended (or {"error": why}\\n)

Standard library only: the runtime has no engine package.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import socket
import sys
import threading

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
JOINED_NAMESPACES = (
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID | CLONE_NEWCGROUP
)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_SET_NO_NEW_PRIVS = 38
_CAP_VERSION_3 = 0x20080522
_MAX_FDS = 16
_REQUEST_TIMEOUT_S = 10
# Imported before any fork: what `import boto3` and a client's creation import
# (module imports only: no session, client or credentials exist before a script).
WARM_MODULES = (
    "boto3",
    "boto3.session",
    "boto3.s3.transfer",
    "boto3.s3.inject",
    "boto3.resources.factory",
    "boto3.dynamodb.conditions",
    "boto3.dynamodb.types",
    "botocore.session",
    "botocore.client",
    "botocore.endpoint",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.serialize",
    "botocore.regions",
    "botocore.endpoint_provider",
    "botocore.handlers",
    "botocore.signers",
    "botocore.auth",
    "botocore.credentials",
    "botocore.retries.standard",
    "botocore.retries.adaptive",
    "s3transfer.manager",
    "s3transfer.upload",
    "s3transfer.download",
    "urllib3",
    "xml.etree.ElementTree",
)

_libc = ctypes.CDLL(None, use_errno=True)


class RunRequest:
    """What a run's script process needs once it is confined."""

    def __init__(self, entry: str, cwd: str, uid: int | None, stdio: tuple[int, int, int], open_objects: list):
        self.confined_fd = -1  # where the script's process says it is confined (or why not)
        self.entry = entry
        self.cwd = cwd
        self.uid = uid
        self.stdio = stdio
        self.open_objects = open_objects  # the zygote's sockets: detached, not closed, in the script


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def drop_capabilities() -> None:
    """Every capability given up: the ones joining (or making) a user namespace gave.
    (engine/confine.py uses this one too: this module may import nothing of the engine.)"""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    _check(_libc.capset(ctypes.byref(Header(_CAP_VERSION_3, 0)), (Data * 2)()), "capset")


def _name_process(name: str) -> None:
    _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def _apply_limits(limits: dict) -> None:
    """The run's rlimits, as `ulimit` set them for a bare interpreter. The address space
    includes what the fork shares with the zygote (boto3, imported), as a bare run's
    included its own import of it: the same budget, the same headroom."""
    for limit, value in (
        (resource.RLIMIT_AS, limits["memory_mib"] * 1024 * 1024),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_FSIZE, limits["file_size_mib"] * 1024 * 1024),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CPU, limits["cpu_s"]),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _join_run(request: dict, pidfd: int, cgroup_fds: list[int]) -> None:
    """The keeper into the run's cgroup, rlimits, uid and namespaces.

    It takes the run's uid before it joins: bwrap's user namespace belongs to that
    uid, and its owner may join it without CAP_SYS_ADMIN, which a container's worker
    does not have (root's power is not needed, and not used). The keeper is in none
    of the script's pid namespace, so the script can neither see nor signal it."""
    for fd in cgroup_fds:
        os.write(fd, b"0")  # "0": the writing process itself; its children follow
        os.close(fd)
    _apply_limits(request["limits"])
    uid = request.get("uid")
    if uid is not None:
        os.setgroups([])  # not possible any more once inside: the sandbox denies setgroups
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _check(_libc.setns(pidfd, JOINED_NAMESPACES), "setns")
    os.close(pidfd)


def _drop_to(uid: int | None) -> None:
    """The script's process: no capability (joining gave it every one in the
    sandbox's user namespace), for good, and the run's uid, checked."""
    drop_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    if int(fields["CapEff"], 16) or int(fields["CapPrm"], 16) or (uid is not None and os.getresuid() != (uid,) * 3):
        raise OSError("the script's process kept a capability or root's uid")


def _keep_run(conn: socket.socket, request: dict, fds: list[int], open_objects: list) -> RunRequest | None:
    """The keeper: joins the run, forks the script's process (which returns from here
    with its RunRequest), reports its end, and exits."""
    pidfd, stdin, stdout, stderr, hold, *cgroup_fds = fds
    _name_process("labgrader-keep")
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for thing in open_objects:
        thing.close()  # the zygote's control socket: nothing of the run needs it
    try:
        _join_run(request, pidfd, cgroup_fds)
        confined_r, confined_w = os.pipe()
        script_pid = os.fork()
    except BaseException as error:  # noqa: BLE001 - tell the grader why, then go
        _send(conn, {"error": f"{type(error).__name__}: {error}"})
        os._exit(1)
    if script_pid == 0:
        os.close(hold)  # the keeper's end: the placeholder waits for it, not for the script
        os.close(confined_r)
        run = RunRequest(request["entry"], request["cwd"], request.get("uid"), (stdin, stdout, stderr), [conn])
        run.confined_fd = confined_w
        return run
    for fd in (stdin, stdout, stderr, confined_w):
        os.close(fd)
    with os.fdopen(confined_r, "rb") as confined:
        said = confined.read()
    if said != b"ok":
        _send(conn, {"error": said.decode(errors="replace") or "the script's process died confining itself"})
        os.waitpid(script_pid, 0)
        os._exit(1)
    _send(conn, {"started": True})
    _pid, status = os.waitpid(script_pid, 0)
    _send(conn, {"status": status})
    os._exit(0)  # and the hold pipe closes with us: the placeholder, then the sandbox, end


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    conn.settimeout(_REQUEST_TIMEOUT_S)
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, _MAX_FDS)
    try:
        while data and not data.endswith(b"\n"):
            more = conn.recv(65536)
            if not more:
                break
            data += more
        conn.settimeout(None)
        return json.loads(data), fds
    except (OSError, ValueError):
        _close_all(fds)
        raise


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def reap_children(*_: object) -> None:
    """SIGCHLD: reap every child that ended (every zygote's: engine/zygote.py uses this one too)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def exit_when_owner_dies(control_path: str) -> None:
    """The owner holds our stdin open; EOF means it died, even by SIGKILL. An owner
    that was killed cannot remove our control directory: we do, on our way out.
    (Every zygote's: engine/zygote.py uses this one too.)"""

    def watch() -> None:
        while os.read(0, 1024):
            pass
        import shutil

        shutil.rmtree(os.path.dirname(control_path), ignore_errors=True)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def serve(control_path: str) -> RunRequest:
    """Serves until a fork becomes a run's script process; returns only in that fork."""
    import gc
    import importlib

    # Listening first: a zygote killed during the imports (with its owner) leaves a
    # socket nobody answers, which the next zygote's sweep recognizes as dead.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    os.chmod(control_path, 0o600)
    listener.listen(64)
    exit_when_owner_dies(control_path)
    for name in WARM_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()  # what every fork shares: never written by a collection, never copied
    signal.signal(signal.SIGCHLD, reap_children)
    os.write(1, b"ready\n")
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        try:
            request, fds = _receive(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        try:
            pid = os.fork()
        except OSError as error:  # out of processes or memory: this run is not gradable, we go on
            _send(conn, {"error": f"the script zygote could not fork: {error}"})
            pid = -1
        if pid == 0:
            run = _keep_run(conn, request, fds, [listener])
            if run is not None:
                return run
            os._exit(1)
        _close_all(fds)
        conn.close()


def become_script(run: RunRequest) -> None:
    """In the script's process: the run's uid, nothing of the zygote's left open, the
    run's stdio, its lab directory, and the mock's listener handed over. If any of it
    fails, the keeper is told why and no line of the script runs."""
    try:
        _confine_script(run)
    except BaseException as error:  # noqa: BLE001 - the keeper reports it: an infrastructure error
        os.write(run.confined_fd, f"{type(error).__name__}: {error}".encode()[:4000])
        os._exit(1)
    os.write(run.confined_fd, b"ok")
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    import labgrader_mock_bridge

    labgrader_mock_bridge.hand_over()


def _confine_script(run: RunRequest) -> None:
    _drop_to(run.uid)
    # Dumpable again, as any process a bare `python` starts (the uid switch cleared it):
    # its /proc/self is its own, and only the run's own processes share its uid.
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    # The keeper shares the run's memory cgroup: when the run runs out of memory, the
    # script's processes go first. (If the script lowers this again and the keeper is
    # killed all the same, the grader reads the cgroup's OOM kill: out of memory.)
    with open("/proc/self/oom_score_adj", "w") as adjust:
        adjust.write("500")
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the keeper is how the grader sees the end
    for handled in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(handled, signal.SIG_DFL)
    for fd in (0, 1, 2):
        os.dup2(run.stdio[fd], fd)
    _reopen_standard_streams()
    for thing in run.open_objects:  # detached, so that no late finalizer closes a reused descriptor
        os.close(thing.detach())
    os.chdir(run.cwd)


def _reopen_standard_streams() -> None:
    """sys.stdin, stdout and stderr made anew for the run's descriptors, as the
    interpreter makes them at start-up: the zygote's were made for its own (a pipe,
    the grader's stderr), and a stream decides once, at its making, whether it can seek."""
    import io

    for fd, name, mode in ((0, "<stdin>", "r"), (1, "<stdout>", "w"), (2, "<stderr>", "w")):
        old = (sys.stdin, sys.stdout, sys.stderr)[fd]
        buffering = 0 if isinstance(old.buffer, io.FileIO) else -1  # 0: PYTHONUNBUFFERED, for writing
        buffer = open(fd, mode + "b", buffering, closefd=False)  # noqa: SIM115 - the stream lives on as sys.*
        (buffer if buffering == 0 else buffer.raw).name = name
        text = io.TextIOWrapper(
            buffer, old.encoding, old.errors, "\n", line_buffering=old.line_buffering, write_through=old.write_through
        )
        text.mode = mode
        setattr(sys, ("stdin", "stdout", "stderr")[fd], text)
        setattr(sys, ("__stdin__", "__stdout__", "__stderr__")[fd], text)


def run_as_main(entry: str) -> None:
    """`python entry`: sys.argv, sys.path[0], a fresh __main__, and the traceback of an
    uncaught exception starting at the script's own frame. SystemExit and the
    interpreter's shutdown (threads joined, atexit, finalizers, flushes) are Python's own:
    the caller returns to the top level of the interpreter."""
    import types
    from importlib.machinery import SourceFileLoader

    path = os.path.abspath(entry)
    sys.argv[:] = [entry]
    sys.orig_argv[:] = [sys.executable, entry]
    sys.path[0] = os.path.dirname(path)
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=path, __loader__=SourceFileLoader("__main__", path), __cached__=None)
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    try:
        with open(path, "rb") as source_file:
            source = source_file.read()
        code = compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        # As the interpreter prints a script that does not compile: no traceback, none of ours.
        sys.excepthook(type(error), error.with_traceback(None), None)
        raise SystemExit(1) from None
    except OSError as error:
        print(f"{sys.executable}: can't open file {path!r}: [Errno {error.errno}] {error.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - printed as the interpreter prints it
        script_frames = error.__traceback__.tb_next  # from the script's own frame on: none of ours
        sys.excepthook(type(error), error.with_traceback(script_frames), script_frames)
        if isinstance(error, KeyboardInterrupt):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(1) from None


def main() -> None:
    """Entry point: `python -c "import labgrader_script_zygote as z; z.main()"`, the
    control socket's path on the first line of stdin (the command line is what every
    script's /proc/self/cmdline shows, so it names nothing of the grader's)."""
    _name_process("labgrader-pyz")
    control_path = b""
    while not control_path.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            raise SystemExit(0)
        control_path += chunk
    run = serve(control_path.decode().strip())
    become_script(run)
    run_as_main(run.entry)
