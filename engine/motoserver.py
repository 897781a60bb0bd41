"""Client side of the moto zygote: one fresh, recording moto server per run."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from engine.errors import InfrastructureError

_START_TIMEOUT_S = 60
_REPLY_TIMEOUT_S = 20
_REPO_ROOT = Path(__file__).resolve().parent.parent


class MotoInstance:
    """A forked moto server, alive while this object holds its control connection."""

    def __init__(self, conn: socket.socket, socket_path: str, record_path: str, pid: int):
        self.conn = conn
        self.socket_path = socket_path
        self.record_path = record_path
        self.pid = pid

    def stop(self) -> None:
        """Stop the server; when this returns the record file is complete."""
        try:
            self.conn.sendall(b"stop\n")
            self.conn.settimeout(_REPLY_TIMEOUT_S)
            reply = self.conn.makefile("rb").readline()
        except OSError as error:
            raise InfrastructureError(f"moto server did not stop cleanly: {error}") from error
        finally:
            self.conn.close()
        if b"stopped" not in reply:
            raise InfrastructureError("moto server died before writing its record")


class MotoZygote:
    """Owns one zygote process; started lazily, restarted if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._control_dir = ""
        self._control_path = ""

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        self._remove_control_dir()
        try:
            self._control_dir = tempfile.mkdtemp(prefix="labgrader-moto-")
            self._control_path = os.path.join(self._control_dir, "control.sock")
            self._process = subprocess.Popen(
                [sys.executable, "-m", "engine.moto_zygote", self._control_path],
                cwd=_REPO_ROOT,
                stdout=subprocess.PIPE,
                stdin=subprocess.PIPE,  # our death closes it: see moto_zygote
                env={**os.environ, "PYTHONPATH": str(_REPO_ROOT)},
            )
        except OSError as error:
            raise InfrastructureError(f"could not start the moto zygote: {error}") from error
        line = _readline_with_timeout(self._process.stdout, _START_TIMEOUT_S)
        if line.strip() != b"ready":
            self._process.kill()
            raise InfrastructureError("moto zygote failed to start")

    def open_server(self, run_dir: str, max_calls: int) -> MotoInstance:
        socket_path = os.path.join(run_dir, "moto.sock")
        record_path = os.path.join(run_dir, "record.jsonl")
        with self._lock:
            self._ensure_started()
            control_path = self._control_path
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(_REPLY_TIMEOUT_S)
            conn.connect(control_path)
            request = {"socket": socket_path, "record": record_path, "max_calls": max_calls}
            conn.sendall(json.dumps(request).encode() + b"\n")
            reply = json.loads(conn.makefile("rb").readline() or b"{}")
        except (OSError, ValueError) as error:
            conn.close()
            raise InfrastructureError(f"could not start a moto server: {error}") from error
        if not reply.get("ready"):
            conn.close()
            raise InfrastructureError("moto server failed to start for this run")
        conn.settimeout(None)
        return MotoInstance(conn, socket_path, record_path, reply["pid"])

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self._remove_control_dir()

    def _remove_control_dir(self) -> None:
        if self._control_dir:
            shutil.rmtree(self._control_dir, ignore_errors=True)
            self._control_dir = ""


def _readline_with_timeout(stream, timeout: float) -> bytes:
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else b""


_zygote = MotoZygote()
atexit.register(_zygote.close)


def shared_zygote() -> MotoZygote:
    """The per-process zygote (each Celery pool process gets its own)."""
    return _zygote
