"""Client side of the moto zygote: one fresh, recording, sandboxed moto server per run."""

from __future__ import annotations

import atexit
import json
import os
import socket
from dataclasses import dataclass

from engine.errors import InfrastructureError
from engine.probes import PackageProbe
from engine.zygote import ZygoteProcess

CONTROL_PREFIX = "labgrader-moto-"
_REPLY_TIMEOUT_S = 20


@dataclass(frozen=True)
class MockBudget:
    """What one run's mock may spend; set by the runner from the run's Limits."""

    memory_mib: int
    threads: int
    connections: int
    open_files: int
    record_bytes: int
    cpu_s: int
    stop_s: float


class MotoInstance:
    """A forked moto server, alive while this object holds its control connection."""

    def __init__(self, conn: socket.socket, record_path: str, pid: int, stop_s: float, stdout_sync: socket.socket):
        self.conn = conn
        # The runner's end of "how much has the script printed?" (engine/stdout_probe.py).
        self.stdout_sync = stdout_sync
        self.record_path = record_path
        self.pid = pid  # in the zygote's pid namespace: for logs only
        self.stop_s = stop_s

    def stop(self) -> str | None:
        """Ask the server to write its record's trailer and exit.

        Returns None when it did, or what went wrong: the caller then kills
        the mock's uid and grades from the calls recorded so far.
        """
        self.stdout_sync.close()  # nobody answers any more: the mock must not wait for us
        try:
            self.conn.sendall(b"stop\n")
            self.conn.settimeout(self.stop_s)
            reply = self.conn.makefile("rb").readline()
        except TimeoutError:
            return f"the mock was still busy {self.stop_s:g} s after the script ended and was stopped"
        except OSError:
            reply = b""
        finally:
            self.conn.close()
        if b"stopped" not in reply:
            return "the mock ended during the run (it went over its memory, thread or CPU budget)"
        return None


class PendingMoto:
    """A mock the zygote is still forking; ready() waits for it."""

    def __init__(self, conn: socket.socket, record_path: str, stop_s: float, stdout_sync: socket.socket):
        self.conn = conn
        self.record_path = record_path
        self.stop_s = stop_s
        self.stdout_sync = stdout_sync

    def ready(self) -> MotoInstance:
        """The serving mock; InfrastructureError when it could not start."""
        try:
            reply = json.loads(self.conn.makefile("rb").readline() or b"{}")
        except (OSError, ValueError) as error:
            self.abandon()
            raise InfrastructureError(f"could not start a moto server: {error}") from error
        if not reply.get("ready"):
            self.abandon()
            raise InfrastructureError(f"moto server failed to start for this run: {reply.get('error', 'no reply')}")
        self.conn.settimeout(None)
        return MotoInstance(self.conn, self.record_path, reply["pid"], self.stop_s, self.stdout_sync)

    def abandon(self) -> None:
        """Never mind: closing the control connection ends the mock (it reads EOF as stop)."""
        self.conn.close()
        self.stdout_sync.close()


class MotoZygote(ZygoteProcess):
    """Owns one moto zygote process; started lazily, restarted if it died."""

    def __init__(self, services: str = "s3") -> None:
        super().__init__("engine.moto_zygote", CONTROL_PREFIX, services)

    def open_server(self, run_dir: str, **options) -> MotoInstance:
        """A fresh server listening on run_dir/moto.sock, recording to run_dir/record.jsonl."""
        return self.start_server(run_dir, **options).ready()

    def start_server(
        self,
        run_dir: str,
        *,
        uid: int | None,
        services: tuple[str, ...],
        max_calls: int,
        budget: MockBudget,
        cgroup_procs: list[str] = (),
        probes: tuple[PackageProbe, ...] = (),
    ) -> PendingMoto:
        """Ask for a fresh server and return before it is up.

        Its socket listens from now on: what connects before the fork is
        serving waits in the backlog. So the runner starts the sandbox while the
        zygote forks and confines the mock, and waits for ready() after.
        """
        with self.lock:
            self.ensure_started()
            control_path = self.control_path
        listener, record_fd, cgroup_fds = _run_files(run_dir, cgroup_procs)
        stdout_sync, mock_sync = socket.socketpair()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.settimeout(_REPLY_TIMEOUT_S)
            conn.connect(control_path)
            request = {
                "uid": uid,
                "services": sorted(services),
                "max_calls": max_calls,
                "limits": {**budget.__dict__},
                "probes": [p.to_dict() for p in probes],
            }
            fds = [listener.fileno(), record_fd, mock_sync.fileno(), *cgroup_fds]
            payload = json.dumps(request).encode() + b"\n"
            # A request carrying probes' sources may outgrow the socket's buffer: send_fds sends a part.
            sent = socket.send_fds(conn, [payload], fds)
            conn.sendall(payload[sent:])
        except OSError as error:
            conn.close()
            stdout_sync.close()
            raise InfrastructureError(f"could not start a moto server: {error}") from error
        finally:
            # The mock holds its own copies; ours must go, or a dead mock's
            # socket would still accept connections nobody serves.
            listener.close()
            mock_sync.close()
            for fd in (record_fd, *cgroup_fds):
                os.close(fd)
        return PendingMoto(conn, os.path.join(run_dir, "record.jsonl"), budget.stop_s, stdout_sync)


def _run_files(run_dir: str, cgroup_procs: list[str]) -> tuple[socket.socket, int, list[int]]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        socket_path = os.path.join(run_dir, "moto.sock")
        listener.bind(socket_path)
        os.chmod(socket_path, 0o666)  # the sandboxed script runs under another uid
        listener.listen(64)
        record_fd = os.open(os.path.join(run_dir, "record.jsonl"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        cgroup_fds = [os.open(path, os.O_WRONLY) for path in cgroup_procs]
    except OSError as error:
        listener.close()
        raise InfrastructureError(f"cannot prepare the mock's socket and record: {error}") from error
    return listener, record_fd, cgroup_fds


_zygote = MotoZygote()
atexit.register(_zygote.close)


def shared_zygote() -> MotoZygote:
    """The per-process zygote (each Celery pool process gets its own)."""
    return _zygote
