"""One call per submission: fresh moto, sandboxed script, the run record."""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from engine import fidelity, slots
from engine.cgroups import make_cgroup
from engine.errors import InfrastructureError
from engine.files import SubmittedFile, input_files_of, sources_of, write_tree
from engine.limits import Limits
from engine.motoserver import MockBudget, MotoZygote, shared_zygote
from engine.probes import PackageProbe
from engine.record import Call, ObjectInfo, RunRecord, ServiceState, service_state_after, state_after
from engine.sandbox import run_sandboxed
from engine.slots import Slot, claim_slot

# What the mock serves when an assignment declares nothing: both current labs are S3 labs.
DEFAULT_SERVICES = ("s3",)
_MIB = 1024 * 1024


def run_submission(
    *,
    files: list[SubmittedFile],
    entry_point: str,
    stdin: str,
    limits: Limits | None = None,
    zygote: MotoZygote | None = None,
    services: tuple[str, ...] = DEFAULT_SERVICES,
    probes: tuple[PackageProbe, ...] = (),
) -> RunRecord:
    """Run the submission once. `probes`: the package's state probes (Assignment.probes),
    run only inside the run's confined mock.

    Raises SubmissionError when its files cannot be staged (the student's to fix),
    InfrastructureError when the grader, not the script, failed.
    """
    limits = limits or Limits()
    zygote = zygote or shared_zygote()
    with _run_directory() as run_dir:
        return _run_in(run_dir, files, entry_point, stdin, limits, zygote, services, probes)


def _run_in(run_dir, files, entry_point, stdin, limits, zygote, services, probes) -> RunRecord:
    try:
        write_tree(files, run_dir / "submission")
        with claim_slot() as slot:
            outcome, mock = _run_against_mock(run_dir, slot, zygote, services, probes, entry_point, stdin, limits)
        calls, final_state, dropped, final_services = read_call_record(
            Path(mock.record_path), complete=mock.incident is None
        )
        place_in_stdout(calls, outcome.stdout)
        calls = fidelity.annotate(calls)  # what moto accepted and real S3 would refuse
    except OSError as error:
        raise InfrastructureError(f"cannot prepare the run directory: {error}") from error
    return RunRecord(
        exit_code=outcome.exit_code,
        timed_out=outcome.timed_out,
        duration_s=outcome.duration_s,
        stdout=printable(outcome.stdout),
        stderr=printable(outcome.stderr),
        stdout_truncated=outcome.stdout_truncated,
        stderr_truncated=outcome.stderr_truncated,
        oom_killed=outcome.oom_killed,
        memory_scope=outcome.memory_scope,
        calls=calls,
        calls_dropped=dropped,
        final_state=final_state,
        final_services=final_services,
        mock_incident=mock.incident,
        sources=sources_of(files),
        input_files=input_files_of(files),
        entry_point=entry_point,
        stdin=stdin,
        limits=limits.to_dict(),
    )


@dataclass
class _MockOutcome:
    record_path: str
    incident: str | None  # None: the mock stopped cleanly and its record is complete


def _run_against_mock(run_dir, slot: Slot, zygote, services, probes, entry_point, stdin, limits) -> tuple:
    # The slot removes both cgroups at its release, after their last process has
    # exited: the mock's takes a few ms to, and nothing of this run waits for it.
    sandbox_cgroup = make_cgroup(f"slot-{slot.uid}", limits.memory_mib * _MIB, limits.processes + 8)
    if sandbox_cgroup is not None:
        slot.on_release(sandbox_cgroup.remove, covers=slot.uid)
    mock_cgroup = make_cgroup(f"mock-{slot.uid}", limits.mock_memory_mib * _MIB, limits.mock_threads + 4)
    if mock_cgroup is not None:
        slot.on_release(mock_cgroup.remove, covers=slot.mock_uid)
    procs = [str(d / "cgroup.procs") for d in mock_cgroup.directories] if mock_cgroup else []
    pending = zygote.start_server(
        str(run_dir),
        uid=slot.mock_uid,
        services=services,
        max_calls=limits.recorded_calls,
        budget=mock_budget(limits),
        cgroup_procs=procs,
        probes=probes,
    )
    started: list = []  # the serving mock, once run_sandboxed has waited for it

    def mock_ready() -> None:
        started.append(pending.ready())

    try:
        # The sandbox starts while the zygote forks the mock: neither waits for the other.
        outcome = run_sandboxed(
            run_dir=run_dir,
            submission_dir=run_dir / "submission",
            moto_socket=str(run_dir / "moto.sock"),
            entry_point=entry_point,
            stdin=stdin.encode(),
            limits=limits,
            uid=slot.uid,
            cgroup=sandbox_cgroup,
            stdout_sync=pending.stdout_sync,
            mock_ready=mock_ready,
        )
    finally:
        if not started:
            pending.abandon()
        incident = started[0].stop() if started else None
        if incident and slot.mock_uid is not None:
            slots.kill_uid_processes(slot.mock_uid)
    if incident and mock_cgroup is not None and mock_cgroup.oom_killed():
        incident = f"the mock ran out of its {limits.mock_memory_mib} MiB memory budget and was stopped"
    return outcome, _MockOutcome(pending.record_path, incident)


def mock_budget(limits: Limits) -> MockBudget:
    return MockBudget(
        memory_mib=limits.mock_memory_mib,
        threads=limits.mock_threads,
        connections=limits.mock_connections,
        open_files=limits.mock_connections + 32,
        record_bytes=limits.mock_record_mib * _MIB,
        cpu_s=int(limits.wall_s + limits.mock_stop_s) + 5,
        stop_s=limits.mock_stop_s,
    )


_RUN_DIR_PREFIX = "labgrader-run-"
# Held (flock) by the run's grading process for as long as it uses the directory.
_LOCK = ".lock"
# A run directory without its lock file this old was left between mkdtemp and the lock
# (held under a temporary name, then renamed to _LOCK).
_UNLOCKED_GRACE_S = 60
_swept: set[str] = set()  # work dirs this process has swept


@contextlib.contextmanager
def _run_directory() -> Iterator[Path]:
    """A fresh run directory, locked while this run holds it, removed after.

    A lock, not our pid in its name, says whether its owner is alive: the kernel frees
    it when the owner dies, and every grading process sharing the work dir sees that,
    in whatever pid namespace it runs (workers in containers, or test hosts).
    """
    run_dir = _new_run_dir()
    lock = None
    try:
        # Held before it is named: another grader's sweep (remove_orphaned_run_dirs) must
        # never find a lock file that nobody holds yet and take the run for an orphan. Until
        # the rename it sees no lock file, and leaves a directory this young alone.
        pending = run_dir / f"{_LOCK}.new"
        lock = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.rename(pending, run_dir / _LOCK)
    except OSError as error:
        shutil.rmtree(run_dir, ignore_errors=True)
        if lock is not None:
            os.close(lock)
        raise InfrastructureError(f"cannot prepare the run directory: {error}") from error
    try:
        yield run_dir
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        os.close(lock)


def _new_run_dir() -> Path:
    work_dir = os.environ.get("LABGRADER_WORK_DIR") or tempfile.gettempdir()
    _require_traversable(Path(work_dir))
    if work_dir not in _swept:
        _swept.add(work_dir)
        remove_orphaned_run_dirs(Path(work_dir))
    try:
        # Our pid in the name is for people looking at the work dir; the lock is what counts.
        run_dir = Path(tempfile.mkdtemp(prefix=f"{_RUN_DIR_PREFIX}{os.getpid()}-", dir=work_dir))
        # Traversable (not listable) by the sandbox uid: it needs the submission and the socket.
        run_dir.chmod(0o711)
    except OSError as error:
        raise InfrastructureError(f"cannot prepare the run directory: {error}") from error
    return run_dir


def remove_orphaned_run_dirs(work_dir: Path) -> list[Path]:
    """Run directories of grading processes that died mid-run (a worker SIGKILLed):
    they hold a submission, and nobody else would remove them. Returns what was removed."""
    removed = []
    for path in work_dir.glob(f"{_RUN_DIR_PREFIX}*-*"):
        try:
            lock = os.open(path / _LOCK, os.O_RDONLY)
        except FileNotFoundError:
            if _age_s(path) > _UNLOCKED_GRACE_S:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            continue
        except OSError:
            continue  # not ours to judge
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its owner is alive
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            os.close(lock)
    return removed


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _require_traversable(work_dir: Path) -> None:
    # bwrap resolves its bind sources as the sandbox uid, so every directory
    # above the run dir must let "others" through.
    for path in [work_dir.resolve(), *work_dir.resolve().parents]:
        try:
            mode = path.stat().st_mode
        except OSError as error:
            raise InfrastructureError(f"work dir {work_dir} is unusable: {error}") from error
        if not mode & 0o001:
            raise InfrastructureError(
                f"work dir {work_dir} is not reachable by the sandbox uid ({path} is not o+x); "
                "set LABGRADER_WORK_DIR to a directory every user can traverse, such as /tmp"
            )


def printable(output: bytes) -> str:
    # Invalid UTF-8 becomes U+FFFD; NUL becomes a visible symbol, since
    # PostgreSQL text columns cannot hold NUL.
    return output.decode("utf-8", "replace").replace("\x00", "\u2400")


def place_in_stdout(calls: list[Call], stdout: bytes) -> None:
    """Turn each call's stdout byte counts (as the mock recorded them) into character
    indexes of the stored text, which decodes invalid UTF-8 as one U+FFFD per byte run."""
    offsets = sorted({o for c in calls for o in (c.stdout_before, c.stdout_after) if o is not None})
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    chars_at: dict[int, int] = {}
    chars = position = 0
    for offset in offsets:
        end = min(offset, len(stdout))  # past the kept bytes: the end of the stored text
        chars += len(decoder.decode(stdout[position:end]))
        position = end
        chars_at[offset] = chars
    for call in calls:
        if call.stdout_before is not None:
            call.stdout_before = chars_at[call.stdout_before]
        if call.stdout_after is not None:
            call.stdout_after = chars_at[call.stdout_after]


class CallRecord(NamedTuple):
    calls: list[Call]
    final_state: dict[str, dict[str, ObjectInfo]]
    calls_dropped: int
    final_services: ServiceState


def read_call_record(path: Path, *, complete: bool = True) -> CallRecord:
    """The calls, the final S3 state, how many calls went unrecorded, and every other service's final state.

    complete=False: the mock was stopped before it wrote its trailer. The calls
    written so far still stand, and the final states are rebuilt from their changes.
    The record is read line by line: only one line, never the whole file, is held as text.
    """
    calls: list[Call] = []
    trailer = None
    try:
        with path.open(encoding="utf-8", errors="replace") as record:
            for line in record:
                try:
                    entry = json.loads(line)
                except ValueError:
                    break  # the last line, cut off when the mock was killed mid-write
                if "final_state" in entry:
                    trailer = entry
                    break
                calls.append(Call.from_dict(entry))
    except OSError as error:
        raise InfrastructureError(f"the call record is missing: {error}") from error
    if trailer is not None:
        final_state = {
            bucket: {key: ObjectInfo(**obj) for key, obj in objects.items()}
            for bucket, objects in trailer["final_state"].items()
        }
        # A trailer of an S3 lab (or of a record before other services) has no final_services.
        return CallRecord(calls, final_state, trailer["calls_dropped"], trailer.get("final_services", {}))
    if complete:
        raise InfrastructureError("the call record is incomplete (the moto server died mid-run)")
    services = sorted({c.service for c in calls if c.service_changes})
    return CallRecord(calls, state_after(calls), 0, {s: service_state_after(calls, s) for s in services})
