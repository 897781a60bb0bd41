"""The mock's side of exact stdout order: "how much has the script printed by now?"

The runner owns the script's stdout pipe. Before and after each call it serves,
the mock asks the runner, over a socket pair, for the number of bytes the
script has written; the runner drains the pipe before it answers (see
engine/sandbox.py). What the script printed before it sent a call is in the
pipe when the call arrives, so the answer orders prints and calls causally.
"""

from __future__ import annotations

import socket

_ANSWER_TIMEOUT_S = 2.0


class StdoutProbe:
    def __init__(self, sync: socket.socket | None):
        self._sync = sync
        self._answers = sync.makefile("rb") if sync is not None else None
        if sync is not None:
            sync.settimeout(_ANSWER_TIMEOUT_S)

    def __call__(self) -> int | None:
        """Bytes of stdout so far, or None once the runner stopped answering (the script ended)."""
        if self._sync is None:
            return None
        try:
            self._sync.sendall(b"?")
            return int(self._answers.readline())
        except (OSError, ValueError):
            self._sync = None  # one silence is enough: never wait again in this run
            return None
