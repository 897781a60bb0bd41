"""The mock's HTTP server: werkzeug's threaded server with a ceiling on what a script can make it hold.

A script can open connections and never finish a request: each costs a thread.
Past `max_connections` open at once a new connection is closed at once, and a
connection idle for `IDLE_TIMEOUT_S` is dropped, so threads stay bounded.
"""

from __future__ import annotations

import functools
import importlib.metadata
import socket
import threading

IDLE_TIMEOUT_S = 10

# werkzeug's server asks importlib.metadata for its own version in __init__, which
# scans every sys.path entry: tens of milliseconds in each run's fork. The answer
# cannot change inside the zygote, so remember it there, before any fork.
importlib.metadata.version = functools.lru_cache(maxsize=64)(importlib.metadata.version)
importlib.metadata.version("werkzeug")


def bounded_server(listener: socket.socket, app, *, max_connections: int):
    """Serves on `listener` (a TCP socket: the script's, engine/mock_bridge.py), which it takes over."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import ThreadedWSGIServer

    class Handler(MotoRequestHandler):
        timeout = IDLE_TIMEOUT_S

        def log_request(self, *args, **kwargs) -> None:
            pass  # the record is our log, and nobody reads stderr

    class BoundedServer(ThreadedWSGIServer):
        def __init__(self) -> None:
            self.open_connections = threading.BoundedSemaphore(max_connections)
            host, port = listener.getsockname()[:2]
            # werkzeug serves a duplicate of the descriptor: ours goes.
            super().__init__(host, port, app, Handler, fd=listener.fileno())
            listener.close()

        def process_request(self, request: socket.socket, client_address) -> None:
            if not self.open_connections.acquire(blocking=False):
                self.shutdown_request(request)
                return
            try:
                super().process_request(request, client_address)
            except Exception:  # noqa: BLE001 - e.g. no thread left under RLIMIT_NPROC
                self.open_connections.release()
                self.shutdown_request(request)

        def process_request_thread(self, request: socket.socket, client_address) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                self.open_connections.release()

        def handle_error(self, request, client_address) -> None:
            pass  # a broken connection is the script's business; the record says what was served

    return BoundedServer()
