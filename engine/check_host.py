"""Client side of the checks zygote: a package's check modules run confined, never in the grader.

CheckZygote.run() sends the package's folder and the run records to a fork of
the zygote (engine/check_zygote.py) and reads one answer per (record, check),
the fork seeing that folder read-only and nothing else of ours. prepare() asks
for the fork before the records exist, so that it confines itself while the
script runs. A check that raises, returns garbage or runs out of memory
answers with an error; one that hangs past its timer, or kills its own
process, is stopped and answered for here, and the rest go on in a fresh fork.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from engine import slots
from engine.errors import InfrastructureError
from engine.zygote import ZygoteProcess

# Per check and record: Lab 06's checks take 0.2 s on the most adversarial record we have.
CHECK_S = float(os.environ.get("LABGRADER_CHECK_SECONDS", "5"))
CHECK_MEMORY_MIB = int(os.environ.get("LABGRADER_CHECK_MEMORY_MIB", "512"))
# One uid for every evaluation, owning nothing: each runs in a pid namespace of its own,
# so evaluations cannot signal one another even so.
CHECKS_UID = int(os.environ.get("LABGRADER_CHECKS_UID", str(slots.SLOT_UID_BASE - 1)))
# Beyond the check's own timer: reading a large record. Less than the fork's CPU
# allowance beyond its timers (check_zygote), so that a stuck check is ours to stop.
_GRACE_S = 2.0
_START_TIMEOUT_S = 60
# An answer's line: a verdict's feedback is cut to 4,000 characters, JSON-escaped at most 6 bytes each.
_MAX_LINE = 64 * 1024
_FEEDBACK_CHARS = 4000
CONTROL_PREFIX = "labgrader-checks-"


@dataclass(frozen=True)
class CheckAnswer:
    name: str
    passed: bool
    feedback: str
    error: str | None = None  # the check itself failed: why


class CheckZygote(ZygoteProcess):
    """Owns one checks zygote process; started lazily, restarted if it died."""

    def __init__(self) -> None:
        super().__init__("engine.check_zygote", CONTROL_PREFIX, str(CHECKS_UID) if slots.dedicated_uids() else "-")

    def run(
        self,
        package_dir: Path | None,
        check_ids: list[str],
        records: list[dict],
    ) -> list[list[CheckAnswer]]:
        """One answer per check (in check_ids' order) per record; the fork sees package_dir read-only."""
        prepared = self.prepare(package_dir, check_ids, len(records))
        try:
            return prepared.run(records)
        finally:
            prepared.close()

    def prepare(self, package_dir: Path | None, check_ids: list[str], record_count: int) -> PreparedChecks:
        """A fork readied for `record_count` records that do not exist yet: close() it if unused."""
        return PreparedChecks(self, package_dir, check_ids, record_count)

    def open_fork(self, header: dict) -> socket.socket:
        """A connection to a new fork, which confines itself while the caller goes on."""
        return self.send_request(header, what="the checks sandbox")


class PreparedChecks:
    """A checks fork asked for before its records exist.

    grade() prepares one as the script starts: the fork enters its namespaces,
    pivots, drops its uid and installs the package's compiled modules while the
    script runs, so that after the run only the evaluation itself is left.
    """

    def __init__(self, zygote: CheckZygote, package_dir: Path | None, check_ids: list[str], record_count: int):
        self.zygote = zygote
        self.check_ids = check_ids
        self.header = {
            "package_dir": str(package_dir.resolve()) if package_dir else None,
            "checks": check_ids,
            "records": record_count,
            "check_s": CHECK_S,
            "memory_mib": CHECK_MEMORY_MIB,
        }
        self._conn: socket.socket | None = zygote.open_fork(self.header)

    def run(self, records: list[dict]) -> list[list[CheckAnswer]]:
        """One answer per check per record, for at most the records it was prepared for
        (the fork's CPU allowance is counted from them)."""
        if len(records) > self.header["records"]:
            raise ValueError(f"prepared for {self.header['records']} records, given {len(records)}")
        total = len(records) * len(self.check_ids)
        answers: list[CheckAnswer | None] = [None] * total
        at = 0
        while at < total:
            # The prepared fork first; after a fork was killed, a fresh one from where it stopped.
            conn, self._conn = self._conn or self.zygote.open_fork(self.header), None
            try:
                at = _run_from(conn, at, records, answers, self.header["check_s"])
            finally:
                conn.close()
        n = len(self.check_ids)
        return [answers[i * n : (i + 1) * n] for i in range(len(records))]

    def close(self) -> None:
        """Ends an unused fork: it reads EOF where it waited for the records."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _run_from(conn: socket.socket, start: int, records: list[dict], answers: list, check_s: float) -> int:
    """Answers from position `start` on; returns where the next fork must start.

    What the fork writes is read as the instructor's code may have written it: the check
    runs in the process that holds the connection. So each answer must come in time,
    within _MAX_LINE bytes, for the position expected next, in the expected shape; else
    that check's answer is an error, the fork is killed and the next check goes on anew.
    """
    try:
        lines = _Lines(conn)
        first = _parsed(lines.next(time.monotonic() + _START_TIMEOUT_S))
        if not isinstance(first.get("pid"), int):
            raise InfrastructureError(f"the checks sandbox failed to start: {first.get('failed', first)}")
        conn.sendall(json.dumps({"records": records, "start": start}).encode() + b"\n")
        at = start
        while at < len(answers):
            try:
                line = lines.next(time.monotonic() + check_s + _GRACE_S)
            except TimeoutError:
                problem = f"did not finish within {check_s:g} s"
            else:
                if line == b"":  # its process died under it: a check that exits, or a kill by an rlimit
                    answers[at] = CheckAnswer("", False, "", "its process ended while it ran (exit or a limit)")
                    return at + 1
                answers[at] = _answer(_parsed(line), at)
                if answers[at] is not None:
                    at += 1
                    continue
                problem = "wrote to the grader's connection something that is not its answer"
            # Alive: its fork waits on it, so the pid is still its own.
            with contextlib.suppress(ProcessLookupError):
                os.kill(first["pid"], signal.SIGKILL)
            answers[at] = CheckAnswer("", False, "", problem)
            return at + 1
        return at
    except OSError as error:
        raise InfrastructureError(f"the checks sandbox failed: {error}") from error


class _Lines:
    """The fork's lines, each bounded in size and in time."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.buffer = b""

    def next(self, deadline: float) -> bytes | None:
        """A line with its newline; b"" at the end; None for one over _MAX_LINE. TimeoutError past the deadline."""
        while b"\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.conn.settimeout(remaining)
            chunk = self.conn.recv(65536)
            if not chunk:
                return b""
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n" if len(line) <= _MAX_LINE else None


def _parsed(line: bytes | None) -> dict:
    try:
        data = json.loads(line) if line else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _answer(data: dict, at: int) -> CheckAnswer | None:
    """The answer for position `at`, or None if the line is not one."""
    name, passed, feedback, error = (data.get(key) for key in ("name", "passed", "feedback", "error"))
    if data.get("at") != at or not isinstance(name, str) or type(passed) is not bool:
        return None
    if not isinstance(feedback, str) or not (error is None or isinstance(error, str)):
        return None
    return CheckAnswer(name[:200], passed, feedback[:_FEEDBACK_CHARS], error and error[:_FEEDBACK_CHARS])


_zygote = CheckZygote()
atexit.register(_zygote.close)


def shared_check_zygote() -> CheckZygote:
    """The per-process checks zygote."""
    return _zygote
