"""Per-run unprivileged uids ("slots").

RLIMIT_NPROC counts processes per uid, and "kill everything the run left" is
done by uid, so two concurrent runs must never share one. A slot is claimed
with an flock, which works across the worker processes of one machine and is
released by the kernel if the claimer dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import tempfile
import time
from collections.abc import Iterator

from engine.errors import InfrastructureError

SLOT_UID_BASE = int(os.environ.get("LABGRADER_SLOT_UID_BASE", "61000"))
SLOT_COUNT = int(os.environ.get("LABGRADER_SLOTS", "32"))
# Each slot's mock (its moto server) runs as a uid of its own, this far above the
# script's: neither can signal, trace or out-count the other.
MOCK_UID_OFFSET = int(os.environ.get("LABGRADER_MOCK_UID_OFFSET", "1000"))
_LOCK_DIR = os.path.join(tempfile.gettempdir(), "labgrader-slots")


_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Orphaned sandbox processes get reparented to us, not to PID 1.

    PID 1 on some machines (and in containers without an init) never reaps,
    so orphans would pile up as zombies; uid_processes() reaps ours.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def mock_uid_for(uid: int) -> int | None:
    """The uid the slot's mock runs as; None where we cannot switch uids."""
    return uid + MOCK_UID_OFFSET if dedicated_uids() else None


def dedicated_uids() -> bool:
    """Only root can switch to per-run uids; otherwise runs share our own uid."""
    return os.geteuid() == 0


@contextlib.contextmanager
def claim_slot(wait_s: float = 60.0) -> Iterator[int]:
    if not dedicated_uids():
        yield os.geteuid()
        return
    become_subreaper()
    os.makedirs(_LOCK_DIR, mode=0o700, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_COUNT):
            handle = open(os.path.join(_LOCK_DIR, f"{uid}.lock"), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                kill_uid_processes(uid)  # a crashed earlier claimer may have left some
                kill_uid_processes(uid + MOCK_UID_OFFSET)
                yield uid
            finally:
                kill_uid_processes(uid)
                kill_uid_processes(uid + MOCK_UID_OFFSET)
                handle.close()
            return
        if time.monotonic() > deadline:
            raise InfrastructureError("no free sandbox slot")
        time.sleep(0.05)


def _status_fields(pid: str) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def uid_processes(uid: int) -> list[int]:
    """Live processes of uid. Zombies are dead already: reap ours, skip the rest."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            # /proc/<pid> is owned by the process's uid: a stat is far cheaper than
            # reading every process's status file.
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            fields = _status_fields(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(fields["Uid"].split()[0]) != uid:
            continue
        if fields["State"].startswith("Z"):
            if int(fields["PPid"]) == os.getpid():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry), os.WNOHANG)
            continue
        pids.append(int(entry))
    return pids


def children_of(parent_pid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
                if int(_status_fields(entry)["PPid"]) == parent_pid:
                    pids.append(int(entry))
    return pids


def kill_uid_processes(uid: int) -> int:
    """SIGKILL every process of uid until none is left; returns how many were killed."""
    killed = 0
    for _ in range(100):
        pids = uid_processes(uid)
        if not pids:
            return killed
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.01)
    raise InfrastructureError(f"processes of sandbox uid {uid} survived SIGKILL")
