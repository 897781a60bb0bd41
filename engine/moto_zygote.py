"""A moto process that imports everything once and forks a fresh server per run.

The zygote itself only imports and forks; it is started from a minimal
environment and never serves. Each fork confines itself before it serves a
byte: into the run's cgroup, under the run's rlimits, down to the run's own
unprivileged mock uid, then into namespaces of its own with no network and a
read-only root holding only the Python it imports from (engine/confine.py).
It never opens a file: the runner passes it the run's unix socket and the
record file as descriptors. It serves on neither network nor unix socket of its
own making: the script's Python, as it starts, passes it a TCP listener made in
the sandbox's network namespace over that unix socket (engine/mock_bridge.py).

Protocol on the control socket, one connection per run:
  client -> {"uid": N, "services": [...], "max_calls": N, "limits": {...}, "probes": [...]}\\n
            ("probes": the package's state probes, PackageProbe.to_dict(), sources included;
            only the fork, once confined, compiles them: engine/probes.py)
            with SCM_RIGHTS: [the run's unix socket, record file, stdout sync socket, cgroup.procs...]
  zygote's child -> {"ready": true, "pid": N}\\n
  client -> "stop\\n" (or closes the connection: its owner died)
  child  -> {"stopped": true}\\n after writing the record's trailer, then exits.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import resource
import signal
import socket
import sys
import threading

from engine import confine, probes, zygote
from engine.bounded_server import bounded_server  # imported here, once, not in every fork
from engine.recorder import RecordingMiddleware
from engine.stdout_probe import StdoutProbe

# Far above any lab file, so that moto keeps object bodies in memory (bounded
# by the run's memory budget) and never spools them to a disk it does not have.
_KEY_BUFFER_BYTES = str(1 << 40)
# Each serving thread's stack; the default 8 MiB of address space per thread
# would eat the mock's RLIMIT_AS long before its thread budget.
_THREAD_STACK_BYTES = 512 * 1024
_MAX_FDS = 8
_REQUEST_TIMEOUT_S = 10
# The script's Python sends its listener as soon as it has connected.
_HANDOFF_TIMEOUT_S = 2


def build_app(services: frozenset[str]):
    from engine import botocore_ops, moto_internals, recorder

    app = moto_internals.gated_dispatcher(services)
    moto_internals.warm_up(app)
    # The recorder names every other service's calls from botocore's models: loaded
    # here once (tenths of a second for DynamoDB), not in every run's fork.
    botocore_ops.warm(services - {"s3"})
    if recorder.snapshot_s3():
        raise RuntimeError("moto state survived the reset; refusing to fork dirty servers")
    return app


def _confine(uid: int | None, limits: dict, cgroup_fds: list[int], unshared_w: int, mapped_r: int) -> None:
    """Enter the run's budgets, drop root for good, then leave the host behind.
    Order matters: cgroups are joined while we may still write them, the uid
    switch comes before the namespaces, so that they belong to the mock uid."""
    for fd in cgroup_fds:
        try:
            os.write(fd, b"0")  # "0": the writing process itself
        finally:
            os.close(fd)
    address_space = zygote.current_address_space() + limits["memory_mib"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    # RLIMIT_NPROC counts threads, and the mock uid runs nothing but this server.
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["threads"], limits["threads"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["record_bytes"], limits["record_bytes"]))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"] + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A record over its size limit must fail the write (EFBIG), not kill us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ.clear()
    confine.unshare_namespaces()
    os.write(unshared_w, b"u")
    if os.read(mapped_r, 1) != b"m":
        raise RuntimeError("the zygote did not map the mock's uid")
    confine.build_read_only_root(import_dirs)
    confine.drop_to(uid)


# What a mock may read: computed once in the zygote.
import_dirs: list[str] = []


def serve_one_run(conn: socket.socket, request: dict, fds: list[int], handshake: tuple[int, int]) -> None:
    listen_fd, record_fd, stdout_sync_fd, *cgroup_fds = fds
    limits = request["limits"]
    _confine(request.get("uid"), limits, cgroup_fds, *handshake)
    # The package's code, from here on only: confined, and compiled on its first call.
    probes.install(probes.PackageProbe(**p) for p in request.get("probes", ()))
    app = build_app_cache[frozenset(request["services"])]
    record_file = os.fdopen(record_fd, "w", encoding="utf-8")
    probe = StdoutProbe(socket.socket(fileno=stdout_sync_fd))
    middleware = RecordingMiddleware(
        app, record_file, request["max_calls"], stdout_probe=probe, max_bytes=limits["record_bytes"]
    )

    def serve() -> None:
        listener = receive_listener(socket.socket(fileno=listen_fd))
        if listener is not None:
            server = bounded_server(listener, middleware, max_connections=limits["connections"])
            server.serve_forever()

    threading.Thread(target=serve, daemon=True).start()
    conn.sendall(json.dumps({"ready": True, "pid": os.getpid()}).encode() + b"\n")
    reader = conn.makefile("rb")
    reader.readline()  # "stop", or EOF when the runner died
    # No server.shutdown(): it waits out a 0.5 s poll. The sandbox is gone by
    # now, and finish() takes the recorder's lock, so no call is half-written.
    middleware.finish()
    record_file.close()
    try:
        conn.sendall(b'{"stopped": true}\n')
    except OSError:
        pass
    os._exit(0)


def receive_listener(handoff: socket.socket) -> socket.socket | None:
    """The script's listener on 127.0.0.1:4566, passed by its Python as it starts
    (engine/mock_bridge.py) over the run's unix socket, which closes after.

    Whatever else comes through that socket is the script's and is dropped: only a
    listening TCP socket is taken, and only the first. It was made in the sandbox's
    network namespace, so accepting on it reaches the script and nothing else; this
    process keeps no network of its own. None if the socket is closed first."""
    with handoff:
        while True:
            try:
                conn, _ = handoff.accept()
            except OSError:
                return None
            with conn:
                conn.settimeout(_HANDOFF_TIMEOUT_S)
                try:
                    _data, fds, _flags, _addr = socket.recv_fds(conn, 64, 1)
                except OSError:
                    continue
            for fd in fds:
                listener = _tcp_listener(fd)
                if listener is not None:
                    return listener


def _tcp_listener(fd: int) -> socket.socket | None:
    """The descriptor as a listening TCP socket; else None, and it is closed."""
    try:
        candidate = socket.socket(fileno=fd)
    except OSError:  # not a socket at all: a pipe, a file
        os.close(fd)
        return None
    try:
        if (
            candidate.family == socket.AF_INET
            and candidate.type == socket.SOCK_STREAM
            and candidate.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        ):
            return candidate
    except OSError:
        pass
    candidate.close()
    return None


# One warmed app per set of services, built in the zygote before any fork.
build_app_cache: dict[frozenset[str], object] = {}


def _receive_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, _MAX_FDS)
    if not data and not fds:
        raise zygote.HungUp
    while not data.endswith(b"\n"):
        more = conn.recv(65536)
        if not more:
            break
        data += more
    return json.loads(data), fds


def _handle(conn: socket.socket) -> None:
    """Prepare the request in the zygote, then fork the run's server."""
    try:
        conn.settimeout(_REQUEST_TIMEOUT_S)  # a runner that connects and says nothing must not stall us
        request, fds = _receive_request(conn)
        conn.settimeout(None)
        services = frozenset(request["services"])
        if services not in build_app_cache:
            # A lab with services the zygote has not served yet: warm them once, here,
            # so that every later fork starts with them ready.
            build_app_cache[services] = build_app(services)
            gc.freeze()  # as zygote.serve() did with the first app
    except zygote.HungUp:
        conn.close()
        return
    except Exception as error:  # noqa: BLE001 - one bad request must not end the zygote
        with contextlib.suppress(OSError):  # nor a peer that is gone by now
            conn.sendall(json.dumps({"ready": False, "error": f"{type(error).__name__}: {error}"}).encode() + b"\n")
        conn.close()
        return
    unshared_r, unshared_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        # Runs outlive a zygote restart; only the runner's connection ends them.
        zygote.become_fork("labgrader-mock")
        try:
            os.close(unshared_r)
            os.close(mapped_w)
            serve_one_run(conn, request, fds, (unshared_w, mapped_r))
        except BaseException as error:  # noqa: BLE001 - tell the runner why, before anything else
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"ready": False, "error": f"{type(error).__name__}: {error}"}).encode() + b"\n")
        finally:
            os._exit(1)
    os.close(unshared_w)
    os.close(mapped_r)
    try:
        zygote.map_ids(pid, request.get("uid"), unshared_r, mapped_w)
    finally:
        os.close(unshared_r)
        os.close(mapped_w)
        for fd in fds:
            os.close(fd)
        conn.close()


def main(control_path: str, services: str) -> None:
    confine.name_process("labgrader-motoz")
    os.environ["MOTO_S3_DEFAULT_KEY_BUFFER_SIZE"] = _KEY_BUFFER_BYTES
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the record is our log
    threading.stack_size(_THREAD_STACK_BYTES)
    import_dirs.extend(confine.python_import_dirs(os.path.dirname(os.path.abspath(__file__))))
    initial = frozenset(services.split(","))
    build_app_cache[initial] = build_app(initial)
    zygote.serve(control_path, _handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "s3")
