"""Runs a package's check modules, the instructor's code, apart from the grader.

The zygote is exec'd from a minimal environment and imports only the record
API and the checks library (engine.record, checks.*): none of the grader's
settings, connections or secrets are in its memory, so none are in a fork's.
Each evaluation is one fork that, before it runs a line of the package:
1. enters new user, mount, network, IPC, UTS and pid namespaces: no network
   at all, and no process outside its own to signal or trace;
2. forks its init, the only process of that pid namespace, which pivots into
   a read-only root holding only the Python it imports from: no /proc, no
   /tmp, no database socket, nothing writable that outlives it;
3. drops to the checks uid for good, under rlimits on memory, CPU time,
   processes and file size;
4. imports the package's check modules from its folder, bound read-only at its
   own path (so a module may read the package's files/ beside it), and runs
   each check under a timer, writing one JSON line per verdict.

Protocol, one connection per evaluation (client: engine/check_host.py):
  client -> {"package_dir": path, "checks": [ids], "records": [dicts],
             "start": N, "check_s": S, "memory_mib": M}\\n
  fork   -> {"pid": P}\\n  (the process to kill, with all of its namespace, on a deadline)
  fork   -> {"at": N, "name": ..., "passed": bool, "feedback": str, "error": str | null}\\n
            for each (record, check) from position N on, records outer
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import pkgutil
import resource
import signal
import socket
import sys
from pathlib import Path

import checks
from checks import packaged
from checks.base import Verdict
from engine import confine, record, zygote

_PR_SET_PDEATHSIG = 1
_FEEDBACK_CHARS = 4000
_REQUEST_TIMEOUT_S = 30

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


def _become_init_and_drop(uid: int | None, memory_mib: int, cpu_s: int, package_dir: str | None) -> None:
    """In the fork's child, pid 1 of the new pid namespace: dies with its parent."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    address_space = zygote.current_address_space() + memory_mib * 1024 * 1024  # while /proc is still there
    visible = list(import_dirs)
    if package_dir and not any(package_dir == d or package_dir.startswith(d + "/") for d in visible):
        visible.append(package_dir)
    confine.build_read_only_root(visible)
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0) if uid is not None else (4096, 4096))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    confine.drop_to(uid)


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


def _serve(conn: socket.socket, uid: int | None, handshake: tuple[int, int]) -> None:
    conn.settimeout(_REQUEST_TIMEOUT_S)
    request = json.loads(conn.makefile("rb").readline())
    conn.settimeout(None)
    # The process to kill on a deadline: PDEATHSIG takes the namespace's init, and all of it, along.
    conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    _enter_namespaces(*handshake)
    cpu_s = int(request["check_s"] * len(request["checks"]) * len(request["records"])) + 5
    init = os.fork()
    if init == 0:
        try:
            _become_init_and_drop(uid, request["memory_mib"], cpu_s, request["package_dir"])
            evaluate(request, conn.makefile("w", encoding="utf-8"))
        finally:
            os._exit(0)
    os.waitpid(init, 0)


def _handle(conn: socket.socket, uid: int | None) -> None:
    unshared_r, unshared_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # a check's prints go nowhere
            os.dup2(devnull, fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            os.close(unshared_r)
            os.close(mapped_w)
            _serve(conn, uid, (unshared_w, mapped_r))
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
    """The checks library, imported once here rather than in every fork."""
    for module in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"checks.{module.name}")


def main(control_path: str, uid: str) -> None:
    _import_library()
    here = os.path.dirname(os.path.abspath(__file__))
    import_dirs.extend(confine.python_import_dirs(here, os.path.join(os.path.dirname(here), "checks")))
    checks_uid = int(uid) if uid != "-" else None
    zygote.serve(control_path, lambda conn: _handle(conn, checks_uid))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
