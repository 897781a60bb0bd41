"""Grades every assignment package's solutions and examples through the real sandbox.

A package's solutions/ must score full marks, and its examples/expected.toml lists
its examples and exactly which checks each must fail (read by engine.validation,
as `manage.py assignment validate` does). Each is graded once (the result is
cached for the module) with the same pipeline the service uses: engine.files ->
engine.grading.grade -> a sandboxed run against a recording moto server -> the checks.

Needs the sandbox runtime (/opt/labgrader/runtime) and the privileges the
sandbox needs; no database.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine import assignments, validation
from engine.grading import GradeReport, grade

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent.name for p in (ROOT / "assignments").glob(f"*/{assignments.MANIFEST}"))
# Checks whose failure has nothing concrete to point at in the run (a missing
# comment in the source); every other failure must name a key, a bucket or an error.
NOTHING_CONCRETE_TO_NAME = {"explains_empty_rule"}
# What a check may name instead when the missing thing is text the lab asks for
# (the audit's stdout lacking the tag names the tag, not a key).
LAB_TEXT_IT_MAY_NAME = {
    "audit_output": {"Intern-Labs"},
    "paginated_report": {"items:", "total qty:"},
    "conditional_sell": {"ConditionExpression"},
    "cleanup_waited": {"table_not_exists", "delete_table"},
}


@dataclass(frozen=True)
class Example:
    assignment: str
    username: str
    path: Path
    description: str
    fails: frozenset[str]
    mentions: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.assignment}/{self.path.parent.name}/{self.path.name}"


def load_examples() -> list[Example]:
    return [
        Example(slug, e.username, e.path, e.description, e.fails, e.mentions)
        for slug in PACKAGES
        for e in validation.expectations(assignments.load(slug))
    ]


EXAMPLE_LIST = load_examples()
every_example = pytest.mark.parametrize("example", EXAMPLE_LIST, ids=[e.label for e in EXAMPLE_LIST])


@functools.cache
def graded(example: Example) -> GradeReport:
    files = validation.files_of(example.path)
    return grade(files=files, assignment=assignments.load(example.assignment), username=example.username)


def describe(report: GradeReport) -> str:
    """Enough of a report to see why an assertion failed, without re-running."""
    lines = [f"score {report.score}/{report.max_score}"]
    lines += [f"  {'PASS' if c.passed else 'FAIL'} {c.id}: {c.feedback}" for c in report.checks]
    lines += ["stdout:", report.record.stdout[-2000:], "stderr:", report.record.stderr[-2000:]]
    return "\n".join(lines)


def concrete_names(report: GradeReport) -> set[str]:
    """Buckets, keys, tables, key attributes, items and error codes the run touched, exceptions it printed."""
    record = report.record
    names = {c.bucket for c in record.calls if c.bucket}
    names |= {c.key for c in record.calls if c.key}
    names |= {value for c in record.calls for value in c.resources.values()}
    names |= {
        typed["S"]
        for c in record.calls
        for change in c.service_changes
        if change.value and change.entry
        for typed in change.value.values()
        if isinstance(typed, dict) and isinstance(typed.get("S"), str)
    }
    names |= {
        str(value)
        for c in record.calls
        for change in c.service_changes
        if change.value and change.entry is None
        for value in (
            change.value.get("billing_mode"),
            *(k.get("AttributeName") for k in change.value.get("key_schema", []) if isinstance(k, dict)),
        )
        if value
    }
    names |= {c.error_code for c in record.calls if c.error_code}
    names |= {c.operation for c in record.calls if c.service != "s3"}
    names |= set(re.findall(r"\b\w+(?:Error|Exception)\b", record.stderr))
    return names


def test_every_lab_is_a_package_with_solutions_and_wrong_examples():
    # engine.validation refuses a package whose expected.toml and examples/ disagree.
    assert PACKAGES == ["dynamodb-inventory", "s3-content-manager", "s3-walkthrough"]
    for slug in PACKAGES:
        ours = [e for e in EXAMPLE_LIST if e.assignment == slug]
        assert [e for e in ours if e.path.parent.name == "solutions"], slug
        assert [e for e in ours if e.fails], slug


@every_example
def test_each_manifest_entry_names_only_checks_of_its_assignment(example):
    check_ids = {c.id for c in assignments.load(example.assignment).checks}
    assert example.fails <= check_ids
    assert set(example.mentions) <= check_ids
    assert example.description.strip() and "\n" not in example.description


def test_labs_06_and_07_each_have_two_solutions_and_enough_wrong_examples():
    for slug, wrong in (("s3-content-manager", 8), ("dynamodb-inventory", 10)):
        ours = [e for e in EXAMPLE_LIST if e.assignment == slug]
        assert len([e for e in ours if e.path.parent.name == "solutions"]) == 2, slug
        assert len([e for e in ours if e.fails]) >= wrong, slug


@every_example
def test_each_example_loses_exactly_its_intended_checks(example):
    report = graded(example)
    failed = {c.id for c in report.checks if not c.passed}
    assert failed == example.fails, f"{example.label} ({example.description})\n{describe(report)}"
    assert not any(c.error for c in report.checks), f"a check crashed\n{describe(report)}"


@every_example
def test_each_example_scores_the_points_of_the_checks_it_keeps(example):
    assignment = assignments.load(example.assignment)
    report = graded(example)
    lost = sum(c.points for c in assignment.checks if c.id in example.fails)
    assert report.max_score == assignment.max_score == 10
    assert report.score == assignment.max_score - lost, describe(report)


@every_example
def test_failed_checks_name_a_concrete_key_bucket_or_error(example):
    report = graded(example)
    names = concrete_names(report)
    for check in report.checks:
        if check.passed or check.id in NOTHING_CONCRETE_TO_NAME:
            continue
        allowed = names | LAB_TEXT_IT_MAY_NAME.get(check.id, set())
        assert any(name in check.feedback for name in allowed), (
            f"{check.id} feedback names none of {sorted(names)}: {check.feedback!r}"
        )


@pytest.mark.parametrize(
    "example", [e for e in EXAMPLE_LIST if e.mentions], ids=[e.label for e in EXAMPLE_LIST if e.mentions]
)
def test_feedback_mentions_what_the_manifest_promises(example):
    feedback = {c.id: c.feedback for c in graded(example).checks}
    for check_id, needles in example.mentions.items():
        for needle in needles:
            assert needle in feedback[check_id], f"{check_id}: {needle!r} not in {feedback[check_id]!r}"


def test_manage_py_grade_json_gives_a_correct_example_ten_out_of_ten():
    script = ROOT / "assignments" / "s3-content-manager" / "solutions" / "correct_client.py"
    result = subprocess.run(
        [sys.executable, "manage.py", "grade", str(script), "--json", "--username", "alice"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["assignment"] == "s3-content-manager"
    assert (report["score"], report["max_score"]) == (10, 10), result.stdout
    assert report["run"]["exit_code"] == 0
    assert [c["id"] for c in report["checks"]] == [
        "three_objects",
        "one_tagged",
        "audit_output",
        "cleanup",
        "explains_empty_rule",
    ]
    assert all(c["passed"] for c in report["checks"])
