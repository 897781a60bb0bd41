"""One call per submission: fresh moto, sandboxed script, the run record."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from engine.errors import InfrastructureError
from engine.files import SubmittedFile, sources_of, write_tree
from engine.limits import Limits
from engine.motoserver import MotoZygote, shared_zygote
from engine.record import Call, ObjectInfo, RunRecord
from engine.sandbox import run_sandboxed
from engine.slots import claim_slot


def run_submission(
    *,
    files: list[SubmittedFile],
    entry_point: str,
    stdin: str,
    limits: Limits | None = None,
    zygote: MotoZygote | None = None,
) -> RunRecord:
    """Run the submission once; raises InfrastructureError when the grader, not the script, failed."""
    limits = limits or Limits()
    zygote = zygote or shared_zygote()
    work_dir = os.environ.get("LABGRADER_WORK_DIR") or tempfile.gettempdir()
    _require_traversable(Path(work_dir))
    try:
        run_dir = Path(tempfile.mkdtemp(prefix="labgrader-run-", dir=work_dir))
        # Traversable (not listable) by the sandbox uid: it needs the submission and the socket.
        run_dir.chmod(0o711)
        write_tree(files, run_dir / "submission")
    except OSError as error:
        raise InfrastructureError(f"cannot prepare the run directory: {error}") from error
    try:
        with claim_slot() as uid:
            moto = zygote.open_server(str(run_dir), limits.recorded_calls)
            try:
                outcome = run_sandboxed(
                    run_dir=run_dir,
                    submission_dir=run_dir / "submission",
                    moto_socket=moto.socket_path,
                    entry_point=entry_point,
                    stdin=stdin.encode(),
                    limits=limits,
                    uid=uid,
                )
            finally:
                moto.stop()
        calls, final_state, dropped = read_call_record(Path(moto.record_path))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
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
        sources=sources_of(files),
        entry_point=entry_point,
        stdin=stdin,
        limits=limits.to_dict(),
    )


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


def read_call_record(path: Path) -> tuple[list[Call], dict[str, dict[str, ObjectInfo]], int]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InfrastructureError(f"the call record is missing: {error}") from error
    if not lines or "final_state" not in lines[-1]:
        raise InfrastructureError("the call record is incomplete (the moto server died mid-run)")
    trailer = json.loads(lines[-1])
    calls = [Call.from_dict(json.loads(line)) for line in lines[:-1]]
    final_state = {
        bucket: {key: ObjectInfo(**obj) for key, obj in objects.items()}
        for bucket, objects in trailer["final_state"].items()
    }
    return calls, final_state, trailer["calls_dropped"]
