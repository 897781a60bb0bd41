"""`manage.py assignment publish`, run as an instructor runs it, against a database of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packages import LAB07, trimmed_lab07, zipped

REPO = Path(__file__).resolve().parents[2]
WRONG_DELETE = LAB07 / "examples" / "wrong_no_delete_waiter.py"  # fails cleanup_waited: 8/10
SETUP = """
from django.contrib.auth import get_user_model
from submissions.models import Course
course = Course.objects.create(name="Python for AWS", code="aws")
course.students.add(get_user_model().objects.create_user("alice"))
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("db") / "template.sqlite3"
    env = environment(database, tmp_path_factory.mktemp("cache"))
    run(env, "migrate", "--noinput")
    run(env, "shell", "--no-imports", "-c", SETUP)
    return database


@pytest.fixture
def env(migrated, tmp_path) -> dict[str, str]:
    database = tmp_path / "db.sqlite3"
    shutil.copy(migrated, database)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    return environment(database, cache)


def environment(database: Path, cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "LABGRADER_PACKAGE_CACHE": str(cache),
        "BROKER_DIR": str(database.parent / "broker"),
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def publish(env, path: Path, *options: str) -> subprocess.CompletedProcess:
    return run(env, "assignment", "publish", str(path), "--course", "aws", *options)


def query(env, code: str) -> str:
    result = run(env, "shell", "--no-imports", "-c", "from submissions.models import *\n" + code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_publish_validates_the_package_stores_it_and_creates_the_course_assignment(env, tmp_path):
    package = trimmed_lab07(tmp_path, examples={"wrong_no_delete_waiter.py": ["cleanup_waited"]})
    result = publish(env, package)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 graded as declared: the package is valid." in result.stdout
    assert "Published dynamodb-inventory version 1 to aws (assignment" in result.stdout
    assert query(
        env, "a = Assignment.objects.get(spec='dynamodb-inventory'); print(a.title, a.package_version.number)"
    ) == ("Lab 07: DynamoDB Inventory 1")


def test_a_package_whose_reference_solution_scores_8_is_refused_naming_the_check_and_nothing_is_published(
    env, tmp_path
):
    archive = tmp_path / "lab07.zip"
    archive.write_bytes(zipped(trimmed_lab07(tmp_path, solutions={"client.py": WRONG_DELETE})))
    result = publish(env, archive)
    assert result.returncode == 1
    assert "Refused: version 1 is not published." in result.stdout
    assert "solutions/client.py: scored 8/10; a reference solution must get full marks" in result.stdout
    assert "failed cleanup_waited, not declared to fail" in result.stdout
    assert query(env, "print(Assignment.objects.count(), list(PackageVersion.objects.values_list('status')))") == (
        "0 [('invalid',)]"
    )


GRADE_ALICE = """
from submissions import services
a = Assignment.objects.get(spec='dynamodb-inventory')
s = Submission.objects.create(assignment=a, student=a.course.students.get(), entry_point='main.py')
SubmissionFile.objects.create(submission=s, name='main.py', content=open({script!r}, 'rb').read())
services.submission_grade(submission_id=s.pk)
s.refresh_from_db()
print(s.pk, s.score, s.max_score)
"""


def test_publishing_over_graded_submissions_shows_the_score_changes_and_applies_them_only_with_yes(env, tmp_path):
    assert publish(env, trimmed_lab07(tmp_path / "v1")).returncode == 0
    submission, score, max_score = query(env, GRADE_ALICE.format(script=str(WRONG_DELETE))).split()
    assert (score, max_score) == ("8", "10")
    second = trimmed_lab07(tmp_path / "v2", points={"cleanup_waited": 4})

    result = publish(env, second)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"alice  submission {submission}: 8/10 -> 8/12" in result.stdout
    assert "Not published: run again with --yes to publish." in result.stdout
    current = "a = Assignment.objects.get(); s = Submission.objects.get(); "
    current += "print(a.package_version.number, s.score, s.max_score, s.package_version.number)"
    assert query(env, current) == "1 8 10 1"

    result = publish(env, second, "--yes", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert out["published"] and out["version"] == 3 and out["rechecked"] == 1 and out["report"]["valid"]
    assert out["changes"] == [
        {"submission_id": int(submission), "student": "alice", "old": "8/10", "new": "8/12", "overridden": False}
    ]
    assert query(env, current) == "3 8 12 3"


def test_what_is_not_a_package_or_not_a_course_gets_one_line_and_exit_1(env, tmp_path):
    result = publish(env, tmp_path)
    assert result.returncode == 1 and result.stderr.strip().endswith("has no assignment.toml")
    (tmp_path / "notes.zip").write_bytes(b"not a zip")
    result = publish(env, tmp_path / "notes.zip")
    assert result.returncode == 1 and "the package is not a .zip file" in result.stderr
    result = run(env, "assignment", "publish", str(LAB07), "--course", "nope")
    assert result.returncode == 1 and "there is no course 'nope'" in result.stderr
    assert query(env, "print(PackageVersion.objects.count())") == "0"
