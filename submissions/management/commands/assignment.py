"""python manage.py assignment validate PATH: grade a package's solutions and examples as declared."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine import assignments
from engine.errors import SubmissionError
from engine.files import unpack_zip, write_tree
from engine.validation import Outcome, PackageError, validate


class Command(BaseCommand):
    help = "Assignment packages: `validate PATH` grades the reference solutions and examples through the sandbox."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser("validate", help="grade every solution and example; exit 1 if any differs")
        check.add_argument("path", metavar="PATH", help="the package folder (with assignment.toml), or a .zip of it")
        check.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
        check.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        path = Path(options["path"])
        unpacked = None
        try:
            if path.suffix.lower() == ".zip":
                unpacked = Path(tempfile.mkdtemp(prefix="labgrader-package-"))
                path = _unzip(path, unpacked / "package")
            outcomes = self._validate(path, options)
        finally:
            if unpacked is not None:
                shutil.rmtree(unpacked, ignore_errors=True)
        if not all(o.ok for o in outcomes):
            sys.exit(1)

    def _validate(self, path: Path, options) -> list[Outcome]:
        if not (path / assignments.MANIFEST).is_file():
            raise CommandError(f"{path} is not an assignment package: it has no {assignments.MANIFEST}")
        try:
            assignment = assignments.load_package(path)
        except (ValueError, OSError) as error:
            raise CommandError(f"the package cannot be loaded: {error}") from None

        def progress(done: int, total: int, outcome: Outcome) -> None:
            if not options["json"]:
                self.stderr.write(f"[{done}/{total}] {outcome.expectation.label}: {'ok' if outcome.ok else 'DIFFERS'}")

        try:
            outcomes = validate(assignment, jobs=options["jobs"], progress=progress)
        except PackageError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(_as_json(assignment, outcomes), indent=2))
        else:
            self.stdout.write(_as_table(assignment, outcomes))
        return outcomes


def _unzip(archive: Path, into: Path) -> Path:
    try:
        files = unpack_zip(archive.read_bytes())
        write_tree(files, into)
    except OSError as error:
        raise CommandError(f"cannot read {archive}: {error}") from None
    except SubmissionError as error:
        raise CommandError(f"{archive}: {error}") from None
    return into


def _fails(checks) -> str:
    return ", ".join(sorted(checks)) or "nothing (full marks)"


def _as_table(assignment, outcomes: list[Outcome]) -> str:
    lines = [f"{assignment.slug}: {assignment.title} ({assignment.max_score} points)"]
    for outcome in outcomes:
        expectation, report = outcome.expectation, outcome.report
        score = f"{report.score}/{report.max_score}" if report else "-"
        lines.append(f"{'ok     ' if outcome.ok else 'DIFFERS'} {expectation.label}  {score}")
        lines.append(f"        expected to fail: {_fails(expectation.fails)}")
        if report is not None:
            lines.append(f"        failed:           {_fails(outcome.got_fails)}")
        lines += [f"        - {problem}" for problem in outcome.problems]
    good = sum(o.ok for o in outcomes)
    verdict = "valid" if good == len(outcomes) else "NOT valid"
    lines.append(f"{good} of {len(outcomes)} graded as declared: the package is {verdict}.")
    return "\n".join(lines)


def _as_json(assignment, outcomes: list[Outcome]) -> dict:
    return {
        "assignment": assignment.slug,
        "valid": all(o.ok for o in outcomes),
        "results": [
            {
                "kind": o.expectation.kind,
                "path": o.expectation.path.name,
                "expected_fails": sorted(o.expectation.fails),
                "failed": None if o.got_fails is None else sorted(o.got_fails),
                "score": o.report.score if o.report else None,
                "max_score": o.report.max_score if o.report else None,
                "problems": o.problems,
                "feedback": {c.id: c.feedback for c in o.report.checks} if o.report else {},
            }
            for o in outcomes
        ],
    }
