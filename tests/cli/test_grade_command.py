"""`manage.py grade` as an instructor runs it: a subprocess, its output and exit status."""

import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "assignments" / "s3-content-manager" / "examples"
SOLUTIONS = REPO / "assignments" / "s3-content-manager" / "solutions"


def grade(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "grade", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_a_folder_of_files_and_a_zip_are_graded_like_the_service_does(tmp_path):
    folder = tmp_path / "lab"
    shutil.copytree(EXAMPLES / "correct_folder", folder)
    archive = tmp_path / "lab.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.iterdir():
            zipped.write(path, f"lab06/{path.name}")
    from_files = json.loads(grade(*map(str, sorted(folder.iterdir())), "--json").stdout)
    from_zip = json.loads(grade(str(archive), "--json").stdout)
    assert from_files["score"] == from_zip["score"] == 10
    assert from_zip["run"]["entry_point"] == "main.py"


def test_the_text_report_names_each_check_and_the_run():
    result = grade(str(EXAMPLES / "wrong_no_cleanup.py"), "--username", "alice")
    assert result.returncode == 0
    assert "Lab 06: S3 Content Manager: 8/10" in result.stdout
    assert "[FAIL] Cleanup (0/2)" in result.stdout and "[PASS] Multi-upload (2/2)" in result.stdout


def test_stdin_can_be_given_on_the_command_line():
    result = json.loads(
        grade(
            str(REPO / "assignments/s3-walkthrough/solutions/manage_s3.py"),
            "--assignment",
            "s3-walkthrough",
            "--stdin",
            "Zoe\n",
            "--json",
        ).stdout
    )
    assert result["score"] == 10 and "intern-boto3-lab-zoe" in result["run"]["stdout"]


def test_batch_grades_each_entry_on_its_own_and_prints_a_table_or_csv(tmp_path):
    shutil.copy(SOLUTIONS / "correct_client.py", tmp_path / "alice.py")
    shutil.copy(EXAMPLES / "wrong_two_files.py", tmp_path / "bob.py")
    shutil.copytree(EXAMPLES / "correct_folder", tmp_path / "carol")
    (tmp_path / "dave.zip").write_bytes(b"not a zip at all")
    table = grade("--batch", str(tmp_path))
    assert table.returncode == 0
    assert (
        "alice.py" in table.stdout and "10/10" in table.stdout and "dave.zip: the .zip file is damaged" in table.stdout
    )
    rows = {r["submission"]: r for r in csv.DictReader(io.StringIO(grade("--batch", str(tmp_path), "--csv").stdout))}
    assert (rows["alice.py"]["score"], rows["bob.py"]["score"], rows["carol"]["score"]) == ("10", "8", "10")
    assert rows["bob.py"]["three_objects"] == "0" and rows["dave.zip"]["error"].startswith("the .zip file is damaged")


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    return lines[0]


def test_bad_arguments_unreadable_files_and_unknown_assignments_get_one_line_and_a_nonzero_exit(tmp_path):
    assert "unrecognized arguments: --frobnicate" in one_line_error(grade("x.py", "--frobnicate"))
    assert "cannot read" in one_line_error(grade(str(tmp_path / "missing.py")))
    assert "unknown assignment 'lab99'" in one_line_error(
        grade(str(SOLUTIONS / "correct_client.py"), "--assignment", "lab99")
    )
    assert "either FILE ... or --batch DIR" in one_line_error(grade())
    assert "--csv goes with --batch" in one_line_error(grade(str(SOLUTIONS / "correct_client.py"), "--csv"))
    (tmp_path / "notes.txt").write_text("hi")
    assert "no Python (.py) file" in one_line_error(grade(str(tmp_path / "notes.txt")))
