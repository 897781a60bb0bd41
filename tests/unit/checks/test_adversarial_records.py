"""The checks stay cheap on records built to be slow (issue 8, item 5).

Wall-clock assertions are not allowed in this suite, so these tests measure work:
the Python lines run inside checks/ plus every comparison of a bucket or key name
(a `str` subclass that counts its `__eq__`, so a scan of a list of names done in C,
`in list` or `list.index`, counts too). Both are deterministic.
"""

from __future__ import annotations

import sys
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import checks
from checks.evidence import timeline
from engine import assignments
from engine.grading import evaluate
from tests.adversarial import adversarial_run

# The check library and the labs' own check modules.
CHECKS_DIRS = (str(Path(checks.__file__).parent), str(assignments.ASSIGNMENTS_DIR))
ASSIGNMENTS = ("s3-content-manager", "s3-walkthrough")
# Two million traced lines and comparisons are a few tenths of a second of
# untraced Python; the quadratic checks of issue 8 ran into the tens of millions.
WORK_BUDGET = 2_000_000


class Name(str):
    """A bucket or key name that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        Name.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


class OverBudget(Exception):
    pass


@dataclass
class WorkMeter:
    """Work per check: lines run in checks/ plus name comparisons; a check over budget is stopped."""

    budget: int = WORK_BUDGET
    per_check: dict[str, int] = field(default_factory=dict)
    lines: int = 0

    def run_check(self, check_id: str, check, record):
        self.lines, Name.compared = 0, 0
        previous = sys.gettrace()
        sys.settrace(self._on_call)
        try:
            return check(record)
        except OverBudget:
            return None
        finally:
            sys.settrace(previous)
            self.per_check[check_id] = self.per_check.get(check_id, 0) + self.lines + Name.compared

    def _on_call(self, frame, event, arg):
        return self._on_line if frame.f_code.co_filename.startswith(CHECKS_DIRS) else None

    def _on_line(self, frame, event, arg):
        if event == "line":
            self.lines += 1
            if self.lines + Name.compared > self.budget:
                raise OverBudget(f"over {self.budget} lines and comparisons")  # stops the check
        return self._on_line


@pytest.fixture
def meter() -> WorkMeter:
    return WorkMeter()


def evaluate_both(record, meter: WorkMeter | None = None) -> dict[str, str]:
    """Every check of both assignments on one record, imported here so that their work can
    be traced (the grader runs them confined): feedback by check id, None if stopped."""
    feedback = {}
    for slug in ASSIGNMENTS:
        assignment = assignments.load(slug)
        for spec in assignment.checks:
            check = assignment.load_check(spec.id).check
            verdict = meter.run_check(spec.id, check, record) if meter else check(record)
            feedback[spec.id] = verdict and verdict.feedback
    return feedback


def test_no_check_goes_over_the_work_budget_on_the_issue_8_record(meter):
    record = adversarial_run(name=Name).record()
    assert len(record.calls) <= 5000  # the recording cap: a real run cannot hold more
    feedback = evaluate_both(record, meter)
    over = {check_id: work for check_id, work in meter.per_check.items() if work > WORK_BUDGET}
    assert not over, f"work per check: {meter.per_check}"
    assert all(feedback.values()), "a check was stopped"


def test_the_work_of_the_checks_grows_linearly_with_the_record(meter):
    def work(size: int) -> int:
        meter.per_check.clear()
        evaluate_both(adversarial_run(buckets=size, uploads=size // 2, modules=0, name=Name).record(), meter)
        return sum(meter.per_check.values())

    small, double = work(150), work(300)
    assert double <= 2.3 * small, f"doubling the record took {double / small:.1f} times the work ({small} -> {double})"


def test_the_timeline_memory_grows_linearly_with_listings_of_a_growing_bucket():
    # A listing after every upload once kept a copy of the bucket per listing (50 MB for 2,000 uploads).
    def peak_bytes(uploads: int) -> int:
        record = adversarial_run(buckets=0, uploads=uploads, modules=0).record()
        tracemalloc.start()
        try:
            assert timeline(record).audited  # the bucket at its fullest is rebuilt too
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, double = peak_bytes(400), peak_bytes(800)
    assert double <= 2.3 * small, f"doubling the record took {double / small:.1f} times the memory"


def test_the_issue_8_record_gets_the_verdicts_it_deserves():
    record = adversarial_run().record()
    feedback = {r.id: r.feedback for slug in ASSIGNMENTS for r in evaluate(record, assignments.load(slug))}
    assert "bulk held 1000 objects at once" in feedback["three_objects"]
    assert "2296 more buckets created during the run still exist." in feedback["cleanup"]  # 2,300 empty + bulk
    assert "Only part of the source was read" in feedback["explains_empty_rule"]
    assert "stdout never shows the size" not in feedback["audit_output"]
