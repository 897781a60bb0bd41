"""The grader's side of the script zygote (engine/script_zygote.py).

One per grading process, started on first use in the sandbox runtime's Python,
from the script's own environment (what every script's /proc/self/environ shows),
as `python -c "import labgrader_script_zygote ..."` (what its cmdline shows).
"""

from __future__ import annotations

import atexit
import json
import socket
import subprocess
import time

from engine.errors import InfrastructureError
from engine.zygote import ZygoteProcess

CONTROL_PREFIX = "labgrader-scripts-"
_BOOTSTRAP = "import labgrader_script_zygote as zygote; zygote.main()"


class ScriptZygote(ZygoteProcess):
    def __init__(self) -> None:
        super().__init__("labgrader_script_zygote", CONTROL_PREFIX)
        self.python = ""
        self.environment: dict[str, str] = {}

    def configure(self, python: str, environment: dict[str, str]) -> None:
        """The runtime's interpreter and the scripts' environment; a change restarts the zygote."""
        if (python, environment) != (self.python, self.environment):
            with self.lock:
                self.close()
                self.python, self.environment = python, dict(environment)

    def spawn(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [self.python, "-c", _BOOTSTRAP],
            cwd="/",
            env=self.environment,
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,  # our death closes it: the zygote exits on EOF
        )
        process.stdin.write(self.control_path.encode() + b"\n")
        process.stdin.flush()
        return process

    def start_run(self, request: dict, fds: list[int]) -> ScriptRun:
        """Asks for the run's script process; fds: placeholder pidfd, stdin, stdout, stderr,
        hold pipe, cgroup.procs files (the caller closes its own copies)."""
        return ScriptRun(self.send_request(request, fds, what="the script zygote"))


class ScriptRun:
    """The keeper's reports on one run: the script started, then its wait status."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.reader = conn.makefile("rb")

    def started(self, timeout_s: float) -> None:
        message = self._next(timeout_s)
        if not message.get("started"):
            raise InfrastructureError(f"the script could not be started: {message.get('error', 'no answer')}")

    def status(self, timeout_s: float) -> int | None:
        """The script's wait status; None if the keeper is gone without saying it."""
        try:
            return self._next(timeout_s).get("status")
        except InfrastructureError:
            return None

    def close(self) -> None:
        self.reader.close()
        self.conn.close()

    def _next(self, timeout_s: float) -> dict:
        self.conn.settimeout(max(timeout_s, 0.001))
        started = time.monotonic()
        try:
            line = self.reader.readline()
        except OSError as error:
            raise InfrastructureError(
                f"no word from the script's keeper in {time.monotonic() - started:.1f} s: {error}"
            ) from error
        if not line:
            raise InfrastructureError("the script's keeper is gone")
        return json.loads(line)


_zygote = ScriptZygote()
atexit.register(_zygote.close)


def shared_script_zygote() -> ScriptZygote:
    """The per-process script zygote."""
    return _zygote
