"""Per-run unprivileged uids ("slots").

RLIMIT_NPROC counts processes per uid, and "kill everything the run left" is
done by uid, so two concurrent runs must never share one. A slot is claimed
with an flock, which works across the worker processes of one machine and is
released by the kernel if the claimer dies.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import queue
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

from engine import confine
from engine.errors import InfrastructureError

SLOT_UID_BASE = int(os.environ.get("LABGRADER_SLOT_UID_BASE", "61000"))
SLOT_COUNT = int(os.environ.get("LABGRADER_SLOTS", "32"))
# Each slot's mock (its moto server) runs as a uid of its own, this far above the
# script's: neither can signal, trace or out-count the other.
MOCK_UID_OFFSET = int(os.environ.get("LABGRADER_MOCK_UID_OFFSET", "1000"))
_LOCK_DIR = os.path.join(tempfile.gettempdir(), "labgrader-slots")


def become_subreaper() -> None:
    """Orphaned sandbox processes get reparented to us, not to PID 1.

    PID 1 on some machines (and in containers without an init) never reaps,
    so orphans would pile up as zombies; uid_processes() reaps ours.
    """
    with contextlib.suppress(OSError):
        confine.become_subreaper()


def mock_uid_for(uid: int) -> int | None:
    """The uid the slot's mock runs as; None where we cannot switch uids."""
    return uid + MOCK_UID_OFFSET if dedicated_uids() else None


def dedicated_uids() -> bool:
    """Only root can switch to per-run uids; otherwise runs share our own uid."""
    return os.geteuid() == 0


class Slot:
    """A claimed slot: its uids, and what must happen before anyone may claim it again."""

    def __init__(self, uid: int, lock_fd: int | None):
        self.uid = uid
        self.mock_uid = mock_uid_for(uid)
        self._lock_fd = lock_fd
        self._cleanups: list[tuple[Callable[[], bool], int | None]] = []

    def on_release(self, cleanup: Callable[[], bool], covers: int | None) -> None:
        """Run cleanup at release. It returns True when it proved every process of uid
        `covers` gone (their cgroup removed); a uid not proven so is swept through /proc."""
        self._cleanups.append((cleanup, covers))

    def release(self) -> None:
        proven = set()
        for cleanup, covers in self._cleanups:
            try:
                if cleanup():
                    proven.add(covers)
            except Exception:  # noqa: BLE001 - the sweep below still frees the slot
                pass
        if self._lock_fd is None:
            return
        try:
            unproven = {self.uid, self.mock_uid} - proven - {None}
            if unproven:
                kill_processes_of(*unproven)
            _mark(self._lock_fd, _CLEAN)
        finally:
            os.close(self._lock_fd)  # the flock goes with it: the slot is free


# A slot's lock file says "clean" when its last holder released it with nothing
# of the run left: the next claimer then skips the /proc sweep. A claimer that
# died (or a release that failed) leaves it "dirty", and the next one sweeps.
_CLEAN = b"clean"
# The same length as _CLEAN, so that marking is one pwrite over it: no ftruncate, whose
# size change costs a journal commit per mark on ext4.
_DIRTY = b"dirty"
# Slots to release, and Events that wait_for_releases() waits on: one thread, in order.
_releases: queue.SimpleQueue[Slot | threading.Event] = queue.SimpleQueue()
_releaser: threading.Thread | None = None
_releaser_lock = threading.Lock()


@contextlib.contextmanager
def claim_slot(wait_s: float = 60.0) -> Iterator[Slot]:
    """A free slot for one run.

    Released in the background when the run ends normally: removing the run's
    cgroups waits for its mock to finish exiting, and the next run need not wait
    with it. The slot stays locked until that is done, so nobody reuses it early;
    wait_for_releases() waits for all of them (tests, and at exit).
    """
    if not dedicated_uids():
        slot = Slot(os.geteuid(), None)
        try:
            yield slot
        finally:
            slot.release()
        return
    become_subreaper()
    os.makedirs(_LOCK_DIR, mode=0o700, exist_ok=True)
    slot = _claim(time.monotonic() + wait_s)
    try:
        yield slot
    except BaseException:
        slot.release()
        raise
    _release_in_background(slot)


def _claim(deadline: float) -> Slot:
    while True:
        for uid in range(SLOT_UID_BASE, SLOT_UID_BASE + SLOT_COUNT):
            fd = os.open(os.path.join(_LOCK_DIR, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                if os.pread(fd, len(_CLEAN), 0) != _CLEAN:
                    kill_processes_of(uid, mock_uid_for(uid))  # a claimer that died may have left some
                _mark(fd, _DIRTY)
            except BaseException:
                os.close(fd)
                raise
            return Slot(uid, fd)
        if time.monotonic() > deadline:
            raise InfrastructureError("no free sandbox slot")
        time.sleep(0.05)


def _mark(fd: int, state: bytes) -> None:
    os.pwrite(fd, state, 0)


def _release_in_background(slot: Slot) -> None:
    global _releaser
    with _releaser_lock:
        if _releaser is None or not _releaser.is_alive():
            _releaser = threading.Thread(target=_release_forever, name="slot-releaser", daemon=True)
            _releaser.start()
            atexit.register(wait_for_releases)
        _releases.put(slot)


def _release_forever() -> None:
    while True:
        item = _releases.get()
        if isinstance(item, threading.Event):
            item.set()
            continue
        with contextlib.suppress(Exception):  # a failed release leaves the lock file unmarked: swept at next claim
            item.release()


def wait_for_releases() -> None:
    """Until every slot released in the background so far is free again."""
    with _releaser_lock:
        if _releaser is None or not _releaser.is_alive():
            return
        done = threading.Event()
        _releases.put(done)
    done.wait()


def _status_fields(pid: str) -> dict[str, str]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields


def uid_processes(uid: int) -> list[int]:
    """Live processes of uid. Zombies are dead already: reap ours, skip the rest."""
    return processes_of(uid)


def processes_of(*uids: int | None) -> list[int]:
    """Live processes of any of uids, in one look through /proc."""
    wanted = {uid for uid in uids if uid is not None}
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            # /proc/<pid> is owned by the process's uid: a stat is far cheaper than
            # reading every process's status file.
            if os.stat(f"/proc/{entry}").st_uid not in wanted:
                continue
            fields = _status_fields(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if int(fields["Uid"].split()[0]) not in wanted:
            continue
        if fields["State"].startswith("Z"):
            if int(fields["PPid"]) == os.getpid():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry), os.WNOHANG)
            continue
        pids.append(int(entry))
    return pids


def reap_orphans(uid: int, wait_s: float = 1.0) -> None:
    """Reap our children of uid: a run's processes orphaned as it ended (bwrap's
    namespace init outlives the outer bwrap by a moment), reparented to us as
    subreaper. Only this uid's: another run's are its own to wait for."""
    deadline = time.monotonic() + wait_s
    for pid in _own_children():
        while True:
            try:
                fields = _status_fields(str(pid))
                if int(fields["Uid"].split()[0]) != uid:
                    break
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    break
            except (FileNotFoundError, ProcessLookupError, ChildProcessError):
                break
            if time.monotonic() > deadline:
                return  # still alive: the slot's release sweeps it
            time.sleep(0.001)


def _own_children() -> list[int]:
    pids = []
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            with open(f"/proc/self/task/{task}/children") as children:
                pids += [int(pid) for pid in children.read().split()]
    return pids


def children_of(parent_pid: int) -> list[int]:
    """The live children of a process: from its threads' /proc children lists (a few
    reads, where a run asks several times), or, on a kernel without those lists, from a
    scan of every process's status."""
    if _CHILDREN_LISTS:
        pids: list[int] = []
        with contextlib.suppress(FileNotFoundError):  # the parent is gone: no children
            for task in os.listdir(f"/proc/{parent_pid}/task"):
                with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                    with open(f"/proc/{parent_pid}/task/{task}/children") as children:
                        pids += [int(pid) for pid in children.read().split()]
        return pids
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
                if int(_status_fields(entry)["PPid"]) == parent_pid:
                    pids.append(int(entry))
    return pids


_CHILDREN_LISTS = os.path.exists("/proc/thread-self/children")  # CONFIG_PROC_CHILDREN


def kill_uid_processes(uid: int) -> int:
    """SIGKILL every process of uid until none is left; returns how many were killed."""
    return kill_processes_of(uid)


def kill_processes_of(*uids: int | None) -> int:
    """SIGKILL every process of any of uids until none is left; returns how many were killed."""
    killed = 0
    for _ in range(100):
        pids = processes_of(*uids)
        if not pids:
            return killed
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.01)
    raise InfrastructureError(f"processes of sandbox uids {sorted(u for u in uids if u is not None)} survived SIGKILL")
