"""The run directory's lock: what tells a grader's start-up sweep that a run is alive."""

import fcntl
import os
import shutil
import tempfile
import types
from pathlib import Path

import pytest

from engine import runner


@pytest.fixture
def work_dir(monkeypatch):
    # Not tmp_path: pytest's base temp is 0700, and run directories must be traversable.
    path = Path(tempfile.mkdtemp(prefix="labgrader-test-work-", dir=tempfile.gettempdir()))
    path.chmod(0o711)
    monkeypatch.setenv("LABGRADER_WORK_DIR", str(path))
    monkeypatch.setattr(runner, "_swept", {str(path)})  # this process has swept it already
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_run_directory_being_created_is_not_swept_as_an_orphan_by_another_grader(work_dir, monkeypatch):
    # Another grader starting on the same host sweeps the work dir for orphans at the worst
    # moment: after our lock file exists, before we hold it. Our run must survive that.
    swept: list[list[Path]] = []

    def flock_after_a_sweep(fd: int, operation: int) -> None:
        if not swept and operation == fcntl.LOCK_EX:
            monkeypatch.setattr(runner, "fcntl", fcntl)  # the sweep locks with the real one
            swept.append(runner.remove_orphaned_run_dirs(work_dir))
        fcntl.flock(fd, operation)

    monkeypatch.setattr(runner, "fcntl", types.SimpleNamespace(flock=flock_after_a_sweep, LOCK_EX=fcntl.LOCK_EX))
    with runner._run_directory() as run_dir:
        assert swept == [[]], "the sweep took our run directory for an orphan"
        (run_dir / "submission").mkdir()  # the run goes on: its directory is there
        # And from now on the lock is ours: a sweep leaves the directory alone.
        assert runner.remove_orphaned_run_dirs(work_dir) == []
        assert run_dir.is_dir()
    assert not run_dir.exists()


def test_a_run_directory_whose_grader_died_before_it_held_the_lock_is_swept_once_old(work_dir):
    with runner._run_directory() as run_dir:
        pass
    orphan = work_dir / f"{runner._RUN_DIR_PREFIX}99-died"
    orphan.mkdir()
    (orphan / (runner._LOCK + ".new")).touch()  # what a grader killed before its lock was held leaves
    assert runner.remove_orphaned_run_dirs(work_dir) == [], "young: its grader may still be starting"
    old = 1_000_000_000
    os.utime(orphan, (old, old))
    assert runner.remove_orphaned_run_dirs(work_dir) == [orphan]
    assert not run_dir.exists()
