"""The one grading path: files -> sandboxed run -> checks -> report.

The CLI, the Celery worker and the tests all call grade(); re-checking a
stored record without running the script again is evaluate().
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from engine.assignments import Assignment, CheckSpec
from engine.check_host import CheckAnswer, shared_check_zygote
from engine.files import SubmittedFile, choose_entry_point
from engine.motoserver import MotoZygote
from engine.record import RunRecord
from engine.runner import run_submission


@dataclass(frozen=True)
class CheckResult:
    id: str
    name: str
    passed: bool
    points: int
    max_points: int
    feedback: str
    error: bool = False  # the check itself crashed: a grader bug


@dataclass(frozen=True)
class GradeReport:
    assignment: str
    record: RunRecord
    checks: list[CheckResult]

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> int:
        return sum(c.max_points for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's --json contract (see the spec)."""
        r = self.record
        return {
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "run": {
                "exit_code": r.exit_code,
                "timed_out": r.timed_out,
                "duration_s": r.duration_s,
                "stdout": r.stdout,
                "stderr": r.stderr,
                "truncated": r.truncated,
                "entry_point": r.entry_point,
                "s3_calls": len(r.calls) + r.calls_dropped,
                "mock_incident": r.mock_incident,
            },
            "checks": [asdict(c) for c in self.checks],
        }


def evaluate(record: RunRecord, assignment: Assignment) -> list[CheckResult]:
    return evaluate_many([record], assignment)[0]


def evaluate_many(records: list[RunRecord], assignment: Assignment) -> list[list[CheckResult]]:
    """The package's checks over each record, run confined (engine/check_zygote.py): the
    instructor's code never runs in the grader's process."""
    if not records:
        return []
    check_ids = [c.id for c in assignment.checks]
    answers = shared_check_zygote().run(assignment.package_dir, check_ids, [r.to_dict() for r in records])
    return _results(answers, assignment)


def _results(answers: list[list[CheckAnswer]], assignment: Assignment) -> list[list[CheckResult]]:
    return [
        [_result(spec, answer, assignment) for spec, answer in zip(assignment.checks, row, strict=True)]
        for row in answers
    ]


def _result(spec: CheckSpec, answer: CheckAnswer, assignment: Assignment) -> CheckResult:
    # A check stopped before it said its NAME (a timeout, a crash) is labelled as the pages label it.
    name = answer.name or assignment.check_name(spec.id)
    if answer.error is not None:
        feedback = (
            f"The check {spec.id} itself failed ({answer.error}). "
            "This is a grader error, not yours: staff can re-run the checks once it is fixed."
        )
        return CheckResult(spec.id, name, False, 0, spec.points, feedback, error=True)
    points = spec.points if answer.passed else 0
    return CheckResult(spec.id, name, answer.passed, points, spec.points, answer.feedback)


def grade(
    *,
    files: list[SubmittedFile],
    assignment: Assignment,
    username: str = "student",
    stdin: str | None = None,
    entry_point: str | None = None,
    zygote: MotoZygote | None = None,
) -> GradeReport:
    """Raises SubmissionError (the student's to fix) or InfrastructureError (ours: retry)."""
    entry = choose_entry_point(files, entry_point)
    # The checks sandbox confines itself while the script runs: after the run, only the checks are left.
    checks = shared_check_zygote().prepare(assignment.package_dir, [c.id for c in assignment.checks], 1)
    try:
        record = run_submission(
            files=assignment.with_provided_files(files),
            entry_point=entry,
            stdin=assignment.stdin_for(username) if stdin is None else stdin,
            limits=assignment.limits,
            zygote=zygote,
            services=assignment.services,
            probes=assignment.probes,
        )
        results = _results(checks.run([record.to_dict()]), assignment)[0]
    finally:
        checks.close()
    return GradeReport(assignment=assignment.slug, record=record, checks=results)
