"""Grade every file or sub-folder of a directory as its own submission."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine.assignments import Assignment
from engine.errors import InfrastructureError, SubmissionError
from engine.files import SubmittedFile, from_folder, from_uploads
from engine.grading import GradeReport, grade

_SKIPPED = (".", "_")


@dataclass
class BatchRow:
    name: str
    report: GradeReport | None = None
    error: str = ""


def collect(directory: Path) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """(submission name, uploads) for each entry of the directory."""
    entries = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(_SKIPPED):
            continue
        if path.is_file():
            entries.append((path.name, [(path.name, path.read_bytes())]))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            entries.append((path.name, [(str(p.relative_to(path)), p.read_bytes()) for p in files]))
    return entries


def grade_directory(
    directory: Path, assignment: Assignment, *, jobs: int = 2, username: str = "student", stdin: str | None = None
) -> list[BatchRow]:
    def grade_one(entry: tuple[str, list[tuple[str, bytes]]]) -> BatchRow:
        name, uploads = entry
        try:
            files = _files_of(uploads)
            return BatchRow(name, report=grade(files=files, assignment=assignment, username=username, stdin=stdin))
        except SubmissionError as error:
            return BatchRow(name, error=str(error))
        except InfrastructureError as error:
            return BatchRow(name, error=f"not gradable (grader failure): {error}")

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(grade_one, collect(directory)))


def _files_of(uploads: list[tuple[str, bytes]]) -> list[SubmittedFile]:
    # A lone file may be a .zip to unpack; a folder keeps its relative paths.
    return from_uploads(uploads) if len(uploads) == 1 else from_folder(uploads)


def summary_table(rows: list[BatchRow], assignment: Assignment) -> str:
    ids = [c.id for c in assignment.checks]
    header = ["submission", "score", *ids]
    table = [header]
    for row in rows:
        if row.report is None:
            table.append([row.name, "-", *["-"] * len(ids)])
        else:
            marks = {c.id: ("pass" if c.passed else "FAIL") for c in row.report.checks}
            table.append([row.name, f"{row.report.score}/{row.report.max_score}", *[marks[i] for i in ids]])
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    errors = [f"{row.name}: {row.error}" for row in rows if row.error]
    return "\n".join(lines + ([""] + errors if errors else []))


def summary_csv(rows: list[BatchRow], assignment: Assignment) -> str:
    ids = [c.id for c in assignment.checks]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "score", "max_score", *ids, "error"])
    for row in rows:
        if row.report is None:
            writer.writerow([row.name, "", assignment.max_score, *[""] * len(ids), row.error])
        else:
            points = {c.id: c.points for c in row.report.checks}
            writer.writerow([row.name, row.report.score, row.report.max_score, *[points[i] for i in ids], ""])
    return out.getvalue()
