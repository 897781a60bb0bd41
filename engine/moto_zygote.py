"""A moto process that imports everything once and forks a fresh server per run.

Measured on these machines: a forked server is ready in ~8 ms, against ~0.5 s
to start (and warm) a new moto process. Each fork has its own copy of moto's
global backends, so runs cannot see each other's buckets.

Protocol on the control socket, one connection per run:
  client -> {"socket": "/run/dir/moto.sock", "record": "/run/dir/record.jsonl"}\n
  zygote's child -> {"ready": true, "pid": N}\n
  client -> "stop\n" (or closes the connection: its owner died)
  child  -> {"stopped": true}\n after writing the record's trailer, then exits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading


def _exit_when_owner_dies() -> None:
    """The owner holds our stdin pipe open; EOF means it died (even by SIGKILL).

    A pipe, not PR_SET_PDEATHSIG: that fires when the *thread* that spawned us
    exits, and the owner may be a short-lived thread of a pool.
    """

    def watch() -> None:
        while os.read(0, 1024):
            pass
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def build_app():
    """moto's dispatcher with the S3 handler already built and the state reset."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    app = DomainDispatcherApplication(create_backend_app)
    client = Client(app)
    signature = "Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
    auth = {"Authorization": f"AWS4-HMAC-SHA256 {signature}"}
    client.put("/warm-up", headers=auth)
    client.put("/warm-up/k", data=b"x", headers={**auth, "x-amz-tagging": "a=b"})
    client.get("/warm-up/k?tagging", headers=auth)
    client.get("/warm-up?list-type=2", headers=auth)
    client.post("/moto-api/reset")
    from engine import recorder

    if recorder.snapshot_s3():
        raise RuntimeError("moto state survived the reset; refusing to fork dirty servers")
    return app


def serve_one_run(conn: socket.socket, app) -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the record is our log

    from engine.recorder import RecordingMiddleware

    reader = conn.makefile("rb")
    request = json.loads(reader.readline())
    record_file = open(request["record"], "w", encoding="utf-8")
    middleware = RecordingMiddleware(app, record_file, request["max_calls"])
    server = make_server("unix://" + request["socket"], 0, middleware, threaded=True)
    # The sandboxed script runs under another uid and must be able to connect.
    os.chmod(request["socket"], 0o666)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.sendall(json.dumps({"ready": True, "pid": os.getpid()}).encode() + b"\n")
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


def _reap_children(*_: object) -> None:
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(control_path: str) -> None:
    app = build_app()
    _exit_when_owner_dies()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(control_path)
    os.chmod(control_path, 0o600)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, _reap_children)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            # Runs outlive a zygote restart; only the runner's connection ends them.
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                serve_one_run(conn, app)
            finally:
                os._exit(1)
        conn.close()


if __name__ == "__main__":
    main(sys.argv[1])
