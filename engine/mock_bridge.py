"""Hands the sandbox's 127.0.0.1:4566 to the run's mock, from the script's own Python.

This module runs in the sandbox, not in the grader: engine/runtime.py installs it
in the sandbox runtime with a .pth line, so every Python started from that runtime
calls hand_over() before anything else, the student's script included.

Inside a sandbox, /run/lab/moto.sock reaches the run's mock (engine/moto_zygote.py),
which lives outside the sandbox's network namespace and has no network of its own.
hand_over() makes the listening TCP socket that the lab's unmodified boto3 code
connects to (AWS_ENDPOINT_URL=http://127.0.0.1:4566) and passes it to the mock over
that unix socket. The mock then accepts the script's connections itself: no relay
process forked per connection, no extra hop per request. It takes the first
listener it is given and closes the unix socket after; later Pythons of the run
find the port taken and do nothing.

Outside a sandbox (no /run/lab/moto.sock: the benchmark's bare runs use the same
runtime) it does nothing, and imports nothing.
"""

from __future__ import annotations

import os

SOCKET = "/run/lab/moto.sock"
ADDRESS = ("127.0.0.1", 4566)


def hand_over(path: str = SOCKET, address: tuple[str, int] = ADDRESS) -> bool:
    """True when this Python gave the mock its listener. Never raises: whatever fails
    here shows as the script's calls failing to connect, which the record says."""
    if not os.path.exists(path):
        return False
    import socket

    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        listener.bind(address)
        listener.listen(128)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as mock:
            mock.connect(path)
            socket.send_fds(mock, [b"listener"], [listener.fileno()])
        return True
    except OSError:
        return False  # the port is taken: an earlier Python of this run handed it over
    finally:
        listener.close()  # the mock holds its own copy
