"""A run's slot is released in the background, and only once nothing of the run is left."""

import os
import subprocess
import time

from engine import cgroups, slots

HEALTHY = 'import boto3\nboto3.client("s3").create_bucket(Bucket="fine")\n'


def _lock_file(uid: int) -> str:
    return os.path.join(slots._LOCK_DIR, f"{uid}.lock")


def _our_cgroups() -> list[str]:
    uids = range(slots.SLOT_UID_BASE, slots.SLOT_UID_BASE + slots.SLOT_COUNT)
    names = {f"{prefix}-{uid}" for uid in uids for prefix in ("slot", "mock")}
    found = []
    for root in (cgroups.V1_MEMORY, cgroups.V1_PIDS, cgroups.V2_ROOT / "labgrader"):
        if root.is_dir():
            found += [entry.name for entry in root.iterdir() if entry.name.removeprefix("labgrader-") in names]
    return found


def _as_uid(uid: int) -> subprocess.Popen:
    process = subprocess.Popen(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "sleep", "60"],
        start_new_session=True,
    )
    while process.pid not in slots.processes_of(uid):  # setpriv has not switched yet
        time.sleep(0.005)
    return process


def test_a_released_slot_has_its_cgroups_removed_and_is_marked_clean(run_script):
    record = run_script(HEALTHY)
    assert record.exit_code == 0
    slots.wait_for_releases()
    assert _our_cgroups() == []
    with open(_lock_file(slots.SLOT_UID_BASE), "rb") as lock:
        assert lock.read() == b"clean"


def test_a_slot_whose_holder_died_mid_run_is_swept_before_it_is_reused():
    uid = slots.SLOT_UID_BASE
    os.makedirs(slots._LOCK_DIR, mode=0o700, exist_ok=True)
    with open(_lock_file(uid), "wb"):
        pass  # what a holder killed mid-run leaves: no "clean" mark
    left = [_as_uid(uid), _as_uid(uid + slots.MOCK_UID_OFFSET)]
    try:
        with slots.claim_slot() as slot:
            assert slot.uid == uid
            # Killed and reaped by the sweep itself (we are their parent), hence no -9 here.
            assert [process.wait(timeout=5) is not None for process in left] == [True, True]
            assert slots.processes_of(uid, uid + slots.MOCK_UID_OFFSET) == []
    finally:
        for process in left:
            process.kill()
            process.wait()
    slots.wait_for_releases()


def test_a_clean_slot_is_claimed_without_a_look_through_proc(monkeypatch):
    uid = slots.SLOT_UID_BASE
    os.makedirs(slots._LOCK_DIR, mode=0o700, exist_ok=True)
    with open(_lock_file(uid), "wb") as lock:
        lock.write(b"clean")
    looked: list[tuple] = []
    real = slots.processes_of
    monkeypatch.setattr(slots, "processes_of", lambda *uids: looked.append(uids) or real(*uids))
    with slots.claim_slot() as slot:
        assert slot.uid == uid
        assert looked == []
        with open(_lock_file(uid), "rb") as lock:
            assert lock.read() == b"dirty", "a slot in use is not clean: if we die now, the next claimer sweeps"
    slots.wait_for_releases()
    assert looked == [(uid, uid + slots.MOCK_UID_OFFSET)], "no cgroup proved the run gone: one sweep, both uids"


def test_a_run_leaves_no_zombie_behind(run_script):
    # We are the sandbox's subreaper: what the run orphans as it ends is ours to reap.
    for _ in range(3):
        assert run_script(HEALTHY).exit_code == 0
    slots.wait_for_releases()
    ours = {
        uid + offset
        for uid in range(slots.SLOT_UID_BASE, slots.SLOT_UID_BASE + slots.SLOT_COUNT)
        for offset in (0, slots.MOCK_UID_OFFSET)
    }
    zombies = []
    for pid in slots._own_children():
        status = slots._status_fields(str(pid))
        if status["State"].startswith("Z") and int(status["Uid"].split()[0]) in ours:
            zombies.append(pid)
    assert zombies == []
