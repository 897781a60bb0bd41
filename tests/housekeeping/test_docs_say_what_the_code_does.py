"""README and docs/ against the code: exit statuses, attempt counts, pointers to docs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "assignments/s3-content-manager/solutions/correct_client.py"


def grade(*args: str) -> int:
    return subprocess.run(
        [sys.executable, "manage.py", "grade", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    ).returncode


def readme_exit_statuses() -> dict[int, str]:
    """The README's "Exit status ..." paragraph, split into what it says each status means."""
    text = " ".join((REPO / "README.md").read_text().replace("`", "").split())
    paragraph = re.search(r"Exit status 0 (.*?)(?:\n\n|## |$)", text).group(0)
    status = r"\b([0-3]) (?:for|when|whenever) "
    return {int(m.group(1)): m.group(2) for m in re.finditer(status + r"(.*?)(?=[,;]? " + status + "|$)", paragraph)}


@pytest.mark.parametrize(
    "args, status, documented_as",
    [
        (["x.py", "--frobnicate"], 2, "unknown option"),
        (["--jobs", "many", "--batch", "."], 2, "wrong type"),
        ([], 1, "no FILE"),
        ([EXAMPLE, "--batch", "assignments"], 1, "both FILE and --batch"),
        ([EXAMPLE, "--csv"], 1, "--csv without --batch"),
        (["/nonexistent/lab.py"], 1, "cannot be read"),
        (["README.md"], 1, "no .py"),
        ([EXAMPLE, "--assignment", "lab99"], 1, "unknown assignment"),
    ],
    ids=["unknown-option", "bad-value", "no-file", "file-and-batch", "csv-alone", "missing-file", "no-py", "lab99"],
)
def test_each_exit_status_is_what_the_readme_says(args, status, documented_as):
    assert grade(*args) == status
    meanings = readme_exit_statuses()
    assert documented_as in meanings.get(status, ""), meanings


def test_the_docs_count_attempts_not_retries():
    """GRADING_MAX_INFRA_RETRIES=3 means three attempts in all (two retries): see
    test_repeated_grader_failures_end_as_not_gradable_and_never_count."""
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = " ".join(path.read_text().split())
        assert not re.search(r"retried \d+ times", text, re.IGNORECASE), path


def test_every_docs_file_the_code_points_to_exists():
    pointer = re.compile(r"\bdocs/[\w.-]+\.md\b")
    missing = []
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in (".venv", ".git", "var", "test-artifacts") or not path.is_file():
            continue
        if path.suffix not in (".py", ".sh", ".md", ".toml", ".yml", ".yaml", ".txt", ".html") and path.name not in (
            "Makefile",
            "Dockerfile",
        ):
            continue
        for name in pointer.findall(path.read_text(errors="replace")):
            if not (REPO / name).is_file():
                missing.append(f"{relative}: {name}")
    assert missing == []
