"""Runs a package's check modules, the instructor's code, apart from the grader.

The zygote is exec'd from a minimal environment and imports only the record
API and the checks library (engine.record, checks.*): none of the grader's
settings, connections or secrets are in its memory, so none are in a fork's.
The zygote compiles the package's modules (compiling runs none of their code)
and keeps the code while the files are unchanged, so no evaluation compiles them
again. Each evaluation is one fork that, before it runs a line of the package:
1. enters new user, mount, network, IPC, UTS and pid namespaces: no network
   at all, and no process outside its own to signal or trace;
2. forks its init, the only process of that pid namespace, which pivots into
   a read-only root holding only the Python it imports from: no /proc, no
   /tmp, no database socket, nothing writable that outlives it;
3. drops to the checks uid for good, under rlimits on memory, CPU time,
   processes and file size;
4. waits for the records: all of the above happens while the grader still
   runs the script (check_host.PreparedChecks), so that after the run only
   the evaluation is left;
5. imports the package's check modules (the zygote's code, from the files in
   the package's folder, bound read-only at its own path, so a module may read
   the package's files/ beside it), and runs each check under a timer, writing
   one JSON line per verdict.

Protocol, one connection per evaluation (client: engine/check_host.py):
  client -> {"package_dir": path, "checks": [ids], "records": N,
             "check_s": S, "memory_mib": M}\\n   (read by the zygote)
  fork   -> {"pid": P}\\n  (the process to kill, with all of its namespace, on a deadline)
  client -> {"records": [dicts], "start": N}\\n   (sent only after the pid: the zygote
             reads the first line whole, and nothing after it may be in the socket)
  fork   -> {"at": N, "name": ..., "passed": bool, "feedback": str, "error": str | null}\\n
            for each (record, check) from position N on, records outer
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.abc
import importlib.util
import json
import os
import pkgutil
import resource
import signal
import socket
import stat
import sys
from pathlib import Path
from types import CodeType

import checks
from checks import packaged
from checks.base import Verdict
from engine import confine, record, zygote

_PR_SET_PDEATHSIG = 1
_FEEDBACK_CHARS = 4000
_REQUEST_TIMEOUT_S = 30
_MAX_HEADER = 64 * 1024
# A module bigger than this is left for the fork to compile, confined, as any import would.
_MAX_PRECOMPILED_BYTES = 512 * 1024
_MAX_CACHED_MODULES = 4096

# What a check may read: computed once, before any fork.
import_dirs: list[str] = []


class CheckTimedOut(BaseException):
    """Raised in a check by its timer. BaseException: a check's `except Exception` must not swallow it."""


def _enter_namespaces(unshared_w: int, mapped_r: int) -> None:
    os.environ.clear()
    confine.unshare_namespaces(pid=True)
    os.write(unshared_w, b"u")
    if os.read(mapped_r, 1) != b"m":
        raise RuntimeError("the zygote did not map the checks uid")


def _become_init_and_drop(uid: int | None, cpu_s: int, package_dir: str | None) -> int:
    """In the fork's child, pid 1 of the new pid namespace: dies with its parent.
    Returns a descriptor of /proc/self/status, opened before /proc went away."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    status = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
    visible = list(import_dirs)
    if package_dir and not any(package_dir == d or package_dir.startswith(d + "/") for d in visible):
        visible.append(package_dir)
    confine.build_read_only_root(visible)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0) if uid is not None else (4096, 4096))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    confine.drop_to(uid)
    return status


def _limit_memory(status_fd: int, memory_mib: int) -> None:
    """The checks' memory budget on top of what the process holds now, records included:
    set after the grader's records arrived and before any of the package's code runs."""
    text = os.pread(status_fd, 65536, 0).decode()
    os.close(status_fd)
    held = next(int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith("VmSize:"))
    limit = held + memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# -- compiled in the zygote, run only in a confined fork ----------------------------

# path -> (what the file was when compiled, its code)
_compiled: dict[str, tuple[tuple[int, int, int, int], CodeType]] = {}


def compiled_package(package_dir: str | None) -> dict[str, CodeType]:
    """The code of each module in the package's checks/ folder, by module name.

    The zygote is not confined, so it only compiles: no line of the package runs
    here. It opens nothing through a symlink (a module linked to a file of the
    host's would otherwise be read here with our rights) and skips what it cannot
    compile; the fork then imports those from their files, confined, and a
    syntax error becomes that check's verdict as before."""
    codes: dict[str, CodeType] = {}
    if not package_dir:
        return codes
    checks_dir = os.path.join(package_dir, "checks")
    try:
        directory = os.open(checks_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return codes
    try:
        for entry in os.scandir(directory):
            name = entry.name[:-3]
            if entry.name.endswith(".py") and name.isidentifier():
                code = _compile_module(directory, entry.name, os.path.join(checks_dir, entry.name))
                if code is not None:
                    codes[name] = code
    finally:
        os.close(directory)
    return codes


def _compile_module(directory: int, file_name: str, path: str) -> CodeType | None:
    try:
        fd = os.open(file_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_PRECOMPILED_BYTES:
            return None
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        cached = _compiled.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        source = os.read(fd, _MAX_PRECOMPILED_BYTES + 1)
    finally:
        os.close(fd)
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    if len(_compiled) >= _MAX_CACHED_MODULES:
        _compiled.clear()
    _compiled[path] = (key, code)
    return code


class _Precompiled(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the package's modules from the zygote's code instead of compiling them again."""

    def __init__(self, package_dir: str, codes: dict[str, CodeType]):
        self.checks_dir = os.path.join(package_dir, "checks")
        self.prefix = packaged.package_name(Path(self.checks_dir)) + "."
        self.codes = codes

    def find_spec(self, fullname, path=None, target=None):
        name = fullname[len(self.prefix) :] if fullname.startswith(self.prefix) else None
        if name not in self.codes:
            return None
        location = os.path.join(self.checks_dir, f"{name}.py")
        return importlib.util.spec_from_file_location(fullname, location, loader=self)

    def create_module(self, spec):
        return None  # the default module

    def exec_module(self, module) -> None:
        exec(self.codes[module.__name__[len(self.prefix) :]], module.__dict__)  # noqa: S102 - confined by now


def evaluate(request: dict, out) -> None:
    """Every (record, check) from request["start"] on, one JSON line each."""
    checks_dir = Path(request["package_dir"] or "/nonexistent") / "checks"
    check_ids: list[str] = request["checks"]
    records = request["records"]
    check_s = request["check_s"]

    def on_timer(*_):
        raise CheckTimedOut

    signal.signal(signal.SIGALRM, on_timer)
    modules: dict[str, object] = {}
    parsed: tuple[int, record.RunRecord | None] = (-1, None)  # one record at a time, shared by its checks
    for at in range(request["start"], len(records) * len(check_ids)):
        check_id = check_ids[at % len(check_ids)]
        answer = {"at": at, "name": check_id, "passed": False, "feedback": "", "error": None}
        try:
            signal.setitimer(signal.ITIMER_REAL, check_s)
            try:
                if check_id not in modules:
                    modules[check_id] = packaged.load_check(checks_dir, check_id)
                module = modules[check_id]
                if isinstance(getattr(module, "NAME", None), str):
                    answer["name"] = module.NAME[:200]
                if parsed[0] != at // len(check_ids):
                    parsed = (at // len(check_ids), record.RunRecord.from_dict(records[at // len(check_ids)]))
                verdict = module.check(parsed[1])
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if not isinstance(verdict, Verdict) or type(verdict.passed) is not bool:
                raise TypeError(f"returned {verdict!r:.100}, not a Verdict(passed: bool, feedback: str)")
            if not isinstance(verdict.feedback, str):
                raise TypeError(f"returned feedback of type {type(verdict.feedback).__name__}, not str")
            answer.update(passed=verdict.passed, feedback=verdict.feedback[:_FEEDBACK_CHARS])
        except CheckTimedOut:
            answer["error"] = f"did not finish within {check_s:g} s"
        except BaseException as error:  # noqa: BLE001 - any failure of the instructor's code is its verdict
            answer["error"] = f"{type(error).__name__}: {error}"[:_FEEDBACK_CHARS]
        out.write(json.dumps(answer) + "\n")
        out.flush()


def _serve(conn: socket.socket, uid: int | None, handshake: tuple[int, int], header: dict, codes: dict) -> None:
    # The process to kill on a deadline: PDEATHSIG takes the namespace's init, and all of it, along.
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    _enter_namespaces(*handshake)
    cpu_s = int(header["check_s"] * len(header["checks"]) * header["records"]) + 5
    init = os.fork()
    if init == 0:
        try:
            status = _become_init_and_drop(uid, cpu_s, header["package_dir"])
            if header["package_dir"]:
                sys.meta_path.insert(0, _Precompiled(header["package_dir"], codes))
            # Ready. The grader sends the records once its run is over; EOF if it never will.
            body = conn.makefile("rb").readline()
            if not body:
                return
            request = {**header, **json.loads(body)}
            _limit_memory(status, header["memory_mib"])
            evaluate(request, conn.makefile("w", encoding="utf-8"))
        finally:
            os._exit(0)
    os.waitpid(init, 0)


def _read_header(conn: socket.socket) -> dict:
    """The request's first line. The client sends nothing more before the fork's pid."""
    conn.settimeout(_REQUEST_TIMEOUT_S)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(_MAX_HEADER)
        if not chunk:
            if not data:
                raise zygote.HungUp
            raise ValueError("the request ended before its first line did")
        data += chunk
        if len(data) > _MAX_HEADER or b"\n" in data[:-1]:
            raise ValueError("the request's first line is too long, or was followed by more")
    conn.settimeout(None)
    return json.loads(data)


def _handle(conn: socket.socket, uid: int | None) -> None:
    try:
        header = _read_header(conn)
        codes = compiled_package(header["package_dir"])
    except zygote.HungUp:
        conn.close()
        return
    except Exception as error:  # noqa: BLE001 - one bad request must not end the zygote
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"failed": f"{type(error).__name__}: {error}"}).encode() + b"\n")
        conn.close()
        return
    unshared_r, unshared_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        zygote.become_fork("labgrader-check")
        try:
            os.close(unshared_r)
            os.close(mapped_w)
            _serve(conn, uid, (unshared_w, mapped_r), header, codes)
        except BaseException as error:  # noqa: BLE001 - tell the client why
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"failed": f"{type(error).__name__}: {error}"}).encode() + b"\n")
        finally:
            os._exit(1)
    os.close(unshared_w)
    os.close(mapped_r)
    try:
        zygote.map_ids(pid, uid, unshared_r, mapped_w)
    finally:
        for fd in (unshared_r, mapped_w):
            os.close(fd)
        conn.close()


def _import_library() -> None:
    """The checks library, imported once here rather than in every fork, with what its
    modules would otherwise build on first use in every fork (their warm() functions)."""
    for module in pkgutil.iter_modules(checks.__path__):
        warm = getattr(importlib.import_module(f"checks.{module.name}"), "warm", None)
        if callable(warm):
            warm()


def main(control_path: str, uid: str) -> None:
    confine.name_process("labgrader-checz")
    _import_library()
    here = os.path.dirname(os.path.abspath(__file__))
    import_dirs.extend(confine.python_import_dirs(here, os.path.join(os.path.dirname(here), "checks")))
    checks_uid = int(uid) if uid != "-" else None
    zygote.serve(control_path, lambda conn: _handle(conn, checks_uid))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
