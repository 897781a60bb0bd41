"""What the two zygotes share: the moto zygote (engine/moto_zygote.py) and the checks
zygote (engine/check_zygote.py), and their owners in the grader.

A zygote is a Python process started from a minimal environment in "/", so that none
of the worker's secrets are in it or in anything it forks. It imports once, listens on
a unix socket in a control directory of its own, and forks per request; each fork
confines itself (engine/confine.py) with the zygote's help for its uid maps.

Owner side: ZygoteProcess starts one lazily, restarts it if it died, and removes the
control directories of zygotes killed together with their owner. Zygote side:
serve() is the accept loop, and the helpers below what a zygote and its forks need.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from engine import confine
from engine.errors import InfrastructureError
from engine.script_zygote import exit_when_owner_dies, reap_children

START_TIMEOUT_S = 60
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# A zygote starts from this and nothing else.
ZYGOTE_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": _PACKAGE_ROOT, "PYTHONDONTWRITEBYTECODE": "1"}


# -- the owner's side -----------------------------------------------------------------


class ZygoteProcess:
    """Owns one zygote process (`python -m module CONTROL_PATH *args`); started on first use."""

    def __init__(self, module: str, control_prefix: str, *args: str) -> None:
        self.module = module
        self.control_prefix = control_prefix
        self.args = args
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.control_dir = ""

    @property
    def control_path(self) -> str:
        return os.path.join(self.control_dir, "control.sock")

    def ensure_started(self) -> None:
        """Callers hold self.lock."""
        if self.process is not None and self.process.poll() is None:
            return
        self.close()
        remove_stale_control_dirs(self.control_prefix)
        try:
            self.control_dir = tempfile.mkdtemp(prefix=self.control_prefix)
            self.process = self.spawn()
        except OSError as error:
            raise InfrastructureError(f"could not start {self.module}: {error}") from error
        if readline_with_timeout(self.process.stdout, START_TIMEOUT_S).strip() != b"ready":
            self.close()
            raise InfrastructureError(f"{self.module} failed to start")

    def spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-s", "-m", self.module, self.control_path, *self.args],
            cwd="/",
            env=ZYGOTE_ENV,
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,  # our death closes it: see exit_when_owner_dies
        )

    def send_request(self, request: dict, fds: list[int] | tuple = (), *, what: str) -> socket.socket:
        """A connection to the zygote (started if need be) that carried `request`, one
        JSON line, and `fds`; `what` names the zygote in the error if it cannot be reached."""
        with self.lock:
            self.ensure_started()
            control_path = self.control_path
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(control_path)
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], list(fds))
        except OSError as error:
            conn.close()
            raise InfrastructureError(f"cannot reach {what}: {error}") from error
        return conn

    def close(self) -> None:
        if self.process is not None:
            if self.process.stdin:
                self.process.stdin.close()  # the zygote exits on EOF, even if it cannot be killed
            self.process.kill()
            self.process.wait()
            self.process = None
        if self.control_dir:
            shutil.rmtree(self.control_dir, ignore_errors=True)
            self.control_dir = ""


def remove_stale_control_dirs(prefix: str) -> None:
    """Control directories of zygotes killed together with their owner (a whole worker
    SIGKILLed): nobody listens on their socket any more, so nobody else will remove them.
    A directory with no socket yet is a zygote starting now, unless it is older than any
    start may take: then its zygote was killed before it listened."""
    for directory in glob.glob(os.path.join(tempfile.gettempdir(), prefix + "*")):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(os.path.join(directory, "control.sock"))
        except ConnectionRefusedError:
            shutil.rmtree(directory, ignore_errors=True)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                if time.time() - os.stat(directory).st_mtime > START_TIMEOUT_S:
                    shutil.rmtree(directory, ignore_errors=True)
        except OSError:
            pass  # not ours to judge
        finally:
            probe.close()


def readline_with_timeout(stream, timeout: float) -> bytes:
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else b""


# -- the zygote's side ----------------------------------------------------------------


def serve(control_path: str, handle: Callable[[socket.socket], None]) -> None:
    """Listen on control_path, say "ready" on stdout, and hand each connection to handle()."""
    exit_when_owner_dies(control_path)
    # Everything imported and warmed so far lives as long as we do: kept out of our own
    # collections, the collector never writes to those pages, which every fork shares
    # copy-on-write (a write here would copy them, once per live fork).
    gc.freeze()
    # A fork's own children orphaned when it is killed (the checks fork's namespace init)
    # come to us and are reaped below. Else they would go to our owner, a grading process
    # and subreaper itself, which reaps only its runs' uids: a zombie per killed fork.
    confine.become_subreaper()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    os.chmod(control_path, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, reap_children)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        try:
            handle(conn)
        except Exception:  # noqa: BLE001 - one connection (a failed fork, a vanished peer) must not end us
            traceback.print_exc()
            with contextlib.suppress(OSError):
                conn.close()


class HungUp(Exception):
    """The peer closed without a request: another zygote's sweep probing whether we are alive."""


def become_fork(name: str) -> None:
    """What every fork of a zygote does first, in the child."""
    # What the zygote built is never garbage here: kept out of every collection, its
    # pages are not written (and copied) by the collector's passes over them.
    gc.freeze()
    confine.name_process(name)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # what moto or a check prints goes nowhere: nobody reads it
        os.dup2(devnull, fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote's reaper is not ours


def map_ids(pid: int, uid: int | None, unshared_r: int, mapped_w: int) -> None:
    """The zygote's half of confine: map the fork's ids once it has its user namespace."""
    if os.read(unshared_r, 1) != b"u":
        return  # the fork failed before it unshared; it says so itself
    try:
        confine.write_id_maps(pid, uid)
    except OSError:
        return  # closing mapped_w unblocks the fork with EOF: it fails and says so
    os.write(mapped_w, b"m")


def current_address_space() -> int:
    """This process's address space in bytes: an RLIMIT_AS budget is added to it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0
