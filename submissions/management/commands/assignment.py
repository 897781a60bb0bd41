"""python manage.py assignment validate|publish PATH: an assignment package, tested or published to a course."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine import assignments, package_store
from engine.errors import SubmissionError
from engine.files import unpack_zip, write_tree
from engine.validation import Outcome, PackageError, validate
from submissions import packages
from submissions.models import Course, PackageVersion


class Command(BaseCommand):
    help = (
        "Assignment packages: `validate PATH` grades the reference solutions and examples through the sandbox; "
        "`publish PATH --course CODE` validates, stores and publishes it as the course's next version."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        check = actions.add_parser("validate", help="grade every solution and example; exit 1 if any differs")
        check.add_argument("path", metavar="PATH", help="the package folder (with assignment.toml), or a .zip of it")
        check.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
        check.add_argument("--json", action="store_true", help="print one JSON object")
        publish = actions.add_parser("publish", help="validate, store as a new version and publish; exit 1 if not")
        publish.add_argument("path", metavar="PATH", help="the package folder (with assignment.toml), or a .zip of it")
        publish.add_argument("--course", required=True, metavar="CODE", help="the course's code (its slug)")
        publish.add_argument("--yes", action="store_true", help="publish even though graded submissions change")
        publish.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
        publish.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        if options["action"] == "publish":
            return self._publish(options)
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
        try:
            outcomes = validate(assignment, jobs=options["jobs"], progress=self._progress(options))
        except PackageError as error:
            raise CommandError(str(error)) from None
        report = packages.validation_report(assignment, outcomes)
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else packages.report_table(report))
        return outcomes

    def _progress(self, options):
        def progress(done: int, total: int, outcome: Outcome) -> None:
            if not options["json"]:
                self.stderr.write(f"[{done}/{total}] {outcome.expectation.label}: {'ok' if outcome.ok else 'DIFFERS'}")

        return progress

    def _publish(self, options) -> None:
        course = Course.objects.filter(code=options["course"]).first()
        if course is None:
            raise CommandError(f"there is no course {options['course']!r}")
        try:
            version = packages.package_upload(
                course=course, data=_archive(Path(options["path"])), by=None, background=False
            )
        except packages.PackageRefused as error:
            raise CommandError(f"the package cannot be loaded: {error}") from None
        version = packages.package_validate(
            version_id=version.pk, jobs=options["jobs"], progress=self._progress(options)
        )
        out = {"course": course.code, "slug": version.slug, "version": version.number, "report": version.report}
        if version.status != PackageVersion.Status.VALID:
            self._say(options, out, f"Refused: version {version.number} is not published.\n{version.reason}")
            sys.exit(1)
        preview, problem = packages.stored_preview(version)  # computed by package_validate
        if preview is None:
            raise CommandError(f"not published: the score changes could not be computed ({problem})")
        out["changes"] = [vars(change) for change in preview.changes]
        out["submissions"] = preview.submissions
        if preview.submissions and not options["yes"]:
            self._say(options, out, _preview_text(preview) + "\nNot published: run again with --yes to publish.")
            sys.exit(1)
        published = packages.package_publish(version=version, by=None)
        out.update(published=True, assignment=published.assignment.pk, rechecked=published.rechecked)
        done = f"Published {version.slug} version {version.number} to {course.code}"
        done += f" (assignment {published.assignment.pk}, {'new' if published.created else 'updated'})"
        if published.rechecked:
            done += f"; {published.rechecked} submissions re-checked"
        self._say(options, out, (_preview_text(preview) + "\n" if preview.submissions else "") + done + ".")

    def _say(self, options, out: dict, text: str) -> None:
        if options["json"]:
            out.setdefault("published", False)
            self.stdout.write(json.dumps(out, indent=2))
        else:
            report = out.get("report")
            self.stdout.write((packages.report_table(report) + "\n" if report else "") + text)


def _archive(path: Path) -> bytes:
    """The package as the bytes a version stores: a .zip as it is, a folder zipped."""
    if path.is_dir():
        if not (path / assignments.MANIFEST).is_file():
            raise CommandError(f"{path} is not an assignment package: it has no {assignments.MANIFEST}")
        return package_store.zip_folder(path)
    try:
        return path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None


def _preview_text(preview: packages.Preview) -> str:
    lines = [f"{preview.submissions} graded submissions re-checked with the new checks:"]
    for c in preview.changes:
        kept = "  (an override stays in force)" if c.overridden else ""
        lines.append(f"  {c.student}  submission {c.submission_id}: {c.old} -> {c.new}{kept}")
    if not preview.changes:
        lines.append("  no score changes")
    if preview.rerun_advised:
        lines.append(
            f"  (the runs were made with the old {', '.join(preview.rerun_advised)}: re-execute them to run again)"
        )
    return "\n".join(lines)


def _unzip(archive: Path, into: Path) -> Path:
    try:
        files = unpack_zip(archive.read_bytes())
        write_tree(files, into)
    except OSError as error:
        raise CommandError(f"cannot read {archive}: {error}") from None
    except SubmissionError as error:
        raise CommandError(f"{archive}: {error}") from None
    return into
