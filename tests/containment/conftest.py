import os
import shutil
import tempfile
import textwrap

import pytest

from engine import slots
from engine.files import SubmittedFile
from engine.limits import Limits
from engine.runner import run_submission


@pytest.fixture
def run_script(monkeypatch):
    """Run a Python source in the real sandbox against a real moto server; returns the RunRecord."""
    # Not pytest's tmp_path: its parents are 0700, unreachable to the sandbox uid.
    work_dir = tempfile.mkdtemp(prefix="labgrader-test-")
    os.chmod(work_dir, 0o755)
    monkeypatch.setenv("LABGRADER_WORK_DIR", work_dir)

    def run(source: str, **limits) -> "RunRecord":  # noqa: F821
        files = [SubmittedFile("main.py", textwrap.dedent(source).encode())]
        return run_submission(
            files=files, entry_point="main.py", stdin="student\n", limits=Limits(**{"wall_s": 10, **limits})
        )

    yield run
    leftovers = os.listdir(work_dir)
    shutil.rmtree(work_dir)
    assert leftovers == [], "a run left its temporary files behind"


def sandbox_processes() -> list[int]:
    """Live processes of any sandbox uid of ours: the scripts' and their mocks'."""
    uids = range(slots.SLOT_UID_BASE, slots.SLOT_UID_BASE + slots.SLOT_COUNT)
    return [pid for uid in uids for own in (uid, uid + slots.MOCK_UID_OFFSET) for pid in slots.uid_processes(own)]


@pytest.fixture(autouse=True)
def own_slot_range(monkeypatch):
    # A uid range of our own, so that other grading on this machine (a
    # benchmark, a dev server, another test session) cannot be mistaken for our leftovers.
    monkeypatch.setattr(slots, "SLOT_UID_BASE", 63000 + (os.getpid() % 60) * 16)
    monkeypatch.setattr(slots, "SLOT_COUNT", 8)


@pytest.fixture(autouse=True)
def nothing_left_behind(own_slot_range):
    yield
    slots.wait_for_releases()  # a run's slot is released (its leftovers ended) in the background
    assert sandbox_processes() == [], "a sandboxed process outlived its run"
