"""python manage.py grade FILE [FILE ...] | --batch DIR: grade offline, same pipeline as the service."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engine import assignments
from engine.batch import grade_directory, summary_csv, summary_table
from engine.errors import InfrastructureError, SubmissionError
from engine.files import from_uploads, read_paths
from engine.grading import grade
from engine.report import render_text


class Command(BaseCommand):
    help = "Grade files as one submission (or each entry of --batch DIR) and print the report."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def one_line_error(message: str) -> None:
            sys.stderr.write(f"grade: error: {message} (see --help)\n")
            sys.exit(2)

        parser.error = one_line_error
        return parser

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", metavar="FILE", help="a .py file, several files, or one .zip")
        parser.add_argument("--assignment", default="s3-content-manager", help="assignment slug")
        parser.add_argument("--stdin", help="standard input for the script (default: the username and a newline)")
        parser.add_argument("--username", default="student", help="the student's username (default: student)")
        parser.add_argument("--entry-point", help="the .py file to run when there are several")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--batch", metavar="DIR", help="grade each file or sub-folder of DIR on its own")
        parser.add_argument("--csv", action="store_true", help="with --batch: print the summary as CSV")
        parser.add_argument("--jobs", type=int, default=2, help="with --batch: submissions graded at once")

    def handle(self, *args, **options):
        if bool(options["files"]) == bool(options["batch"]):
            raise CommandError("give either FILE ... or --batch DIR")
        if options["csv"] and not options["batch"]:
            raise CommandError("--csv goes with --batch")
        try:
            assignment = assignments.load(options["assignment"])
        except assignments.UnknownAssignment as error:
            raise CommandError(str(error)) from None
        except (ValueError, OSError) as error:
            raise CommandError(f"the assignment {options['assignment']!r} cannot be loaded: {error}") from None
        if options["batch"]:
            return self._batch(Path(options["batch"]), assignment, options)
        try:
            files = from_uploads(read_paths(options["files"]))
            report = grade(
                files=files,
                assignment=assignment,
                username=options["username"],
                stdin=options["stdin"],
                entry_point=options["entry_point"],
            )
        except SubmissionError as error:
            raise CommandError(str(error)) from None
        except InfrastructureError as error:
            raise CommandError(f"not gradable, the grader failed (not your script): {error}", returncode=3) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict(), indent=2))
        else:
            self.stdout.write(render_text(report, title=assignment.title))

    def _batch(self, directory: Path, assignment, options):
        if not directory.is_dir():
            raise CommandError(f"cannot read {directory}: not a directory")
        rows = grade_directory(
            directory, assignment, jobs=options["jobs"], username=options["username"], stdin=options["stdin"]
        )
        if options["csv"]:
            self.stdout.write(summary_csv(rows, assignment), ending="")
        elif options["json"]:
            self.stdout.write(
                json.dumps(
                    {row.name: row.report.to_dict() if row.report else {"error": row.error} for row in rows}, indent=2
                )
            )
        else:
            self.stdout.write(summary_table(rows, assignment))
