"""Validating an assignment package: its solutions and examples graded as declared.

A package is publishable when every reference solution (solutions/) scores
full marks and every example (examples/, listed in examples/expected.toml)
fails exactly the checks it names, mentions what it says it mentions, and
no check crashes on any of them. Each is graded through the real sandbox with
the same pipeline students get (engine.grading.grade).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine.assignments import Assignment
from engine.errors import InfrastructureError, SubmissionError
from engine.files import SubmittedFile, from_folder, from_uploads
from engine.grading import GradeReport, grade

EXPECTED = "expected.toml"


@dataclass(frozen=True)
class Expectation:
    """One submission of a package and how it must grade."""

    kind: str  # "solution" or "example"
    path: Path
    description: str
    fails: frozenset[str]
    username: str = "student"
    mentions: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.kind}s/{self.path.name}"


@dataclass
class Outcome:
    expectation: Expectation
    report: GradeReport | None = None
    problems: list[str] = field(default_factory=list)  # empty: graded as declared

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def got_fails(self) -> frozenset[str] | None:
        return None if self.report is None else frozenset(c.id for c in self.report.checks if not c.passed)


class PackageError(ValueError):
    """The package's layout or expected.toml is wrong: nothing to grade yet."""


def expectations(assignment: Assignment) -> list[Expectation]:
    package = assignment.package_dir
    if package is None:
        raise PackageError(f"{assignment.slug} is not a package: it has no solutions or examples to validate")
    found = [
        Expectation("solution", path, "reference solution: full marks", frozenset())
        for path in _submissions_in(package / "solutions")
    ]
    if not found:
        raise PackageError(f"{package}/solutions holds no reference solution (a .py file or a folder)")
    return found + _examples(package / "examples", assignment)


def _submissions_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith((".", "_")) and (p.suffix == ".py" or p.is_dir()) and p.name != "__pycache__"
    )


def _examples(folder: Path, assignment: Assignment) -> list[Expectation]:
    present = _submissions_in(folder)
    if not present:
        return []
    manifest = folder / EXPECTED
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PackageError(f"{manifest}: {error}") from error
    known = {c.id for c in assignment.checks}
    found = []
    for number, entry in enumerate(data.get("example", []), start=1):
        where = f"{manifest}, example {number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise PackageError(f"{where}: needs a path")
        fails = entry.get("fails", [])
        mentions = entry.get("mentions", {})
        if not isinstance(fails, list) or not isinstance(mentions, dict):
            raise PackageError(f"{where}: fails is a list of check ids, mentions a table of check id -> strings")
        unknown = (set(fails) | set(mentions)) - known
        if unknown:
            raise PackageError(f"{where} ({entry['path']}): names checks the assignment lacks: {sorted(unknown)}")
        found.append(
            Expectation(
                "example",
                folder / entry["path"],
                str(entry.get("description", "")).strip(),
                frozenset(fails),
                str(data.get("username", "student")),
                {check: [str(s) for s in strings] for check, strings in mentions.items()},
            )
        )
    listed = {e.path.name for e in found}
    names = {p.name for p in present}
    if listed != names:
        raise PackageError(
            f"{manifest}: listed but missing {sorted(listed - names)}, present but unlisted {sorted(names - listed)}"
        )
    return found


def files_of(path: Path) -> list[SubmittedFile]:
    """A .py file, or a folder graded as one submission (its files keep their relative paths)."""
    if path.is_dir():
        return from_folder([(str(p.relative_to(path)), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()])
    return from_uploads([(path.name, path.read_bytes())])


def judge(expectation: Expectation, report: GradeReport) -> list[str]:
    """What differs between how the submission graded and how it was declared to."""
    problems = []
    got = frozenset(c.id for c in report.checks if not c.passed)
    if expectation.kind == "solution" and report.score != report.max_score:
        problems.append(f"scored {report.score}/{report.max_score}; a reference solution must get full marks")
    if got != expectation.fails:
        if expectation.fails - got:
            problems.append(f"passed {', '.join(sorted(expectation.fails - got))}, declared to fail")
        if got - expectation.fails:
            problems.append(f"failed {', '.join(sorted(got - expectation.fails))}, not declared to fail")
    feedback = {c.id: c.feedback for c in report.checks}
    for check, strings in expectation.mentions.items():
        missing = [s for s in strings if s not in feedback.get(check, "")]
        if missing:
            problems.append(f"the feedback of {check} does not mention {', '.join(map(repr, missing))}")
    problems += [f"the check {c.id} crashed: {c.feedback}" for c in report.checks if c.error]
    return problems


def validate(
    assignment: Assignment, *, jobs: int = 2, progress: Callable[[int, int, Outcome], None] | None = None
) -> list[Outcome]:
    """Grade every solution and example of the package; outcomes in expectations() order."""
    todo = expectations(assignment)

    def one(expectation: Expectation) -> Outcome:
        try:
            report = grade(files=files_of(expectation.path), assignment=assignment, username=expectation.username)
        except SubmissionError as error:
            return Outcome(expectation, problems=[f"cannot be graded: {error}"])
        except InfrastructureError as error:
            return Outcome(expectation, problems=[f"the grader failed on it (not the package's fault): {error}"])
        return Outcome(expectation, report, judge(expectation, report))

    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for outcome in pool.map(one, todo):
            outcomes.append(outcome)
            if progress is not None:
                progress(len(outcomes), len(todo), outcome)
    return outcomes
