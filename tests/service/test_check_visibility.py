"""Checks with visibility "after_due": students see their verdicts only after the deadline; staff always."""

import csv
import io
import json
import re
import shutil
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engine import assignments as engine_assignments
from submissions import selectors
from submissions.models import CheckOutcome, ScoreOverride
from tests.factories import PASSWORD, make_submission

CLEANUP_FEEDBACK = "Deleted the 3 objects of intern-boto3-lab-alice, then the bucket."
# The checks gave 8/10; Cleanup (2 points, passed) is the after_due one, so before the
# deadline Alice sees 6/8 and that 2 points wait for it.
OUTCOMES = [
    ("three_objects", "Three objects", True, "Uploaded 3 distinct objects."),
    ("one_tagged", "One tagged", True, "Exactly one object tagged Project=Intern-Labs."),
    ("audit_output", "Audit", False, "The audit never printed the size of notes.txt."),
    ("cleanup", "Cleanup", True, CLEANUP_FEEDBACK),
    ("explains_empty_rule", "Documentation", True, "Explains why a bucket must be empty."),
]


@pytest.fixture(autouse=True)
def cleanup_after_due(tmp_path, monkeypatch):
    """Lab 06's package with its Cleanup check after_due: the one seam, where packages are found."""
    real = engine_assignments.ASSIGNMENTS_DIR / "s3-content-manager"
    package = tmp_path / "s3-content-manager"
    shutil.copytree(real / "checks", package / "checks")
    manifest = (real / "assignment.toml").read_text(encoding="utf-8")
    hidden = manifest.replace('id = "cleanup"\npoints = 2\n', 'id = "cleanup"\npoints = 2\nvisibility = "after_due"\n')
    assert hidden != manifest
    (package / "assignment.toml").write_text(hidden, encoding="utf-8")
    monkeypatch.setattr(engine_assignments, "ASSIGNMENTS_DIR", tmp_path)


@pytest.fixture
def graded(world):
    """Alice's submission of yesterday (the deadline is a week away, or moved to an hour ago): 8/10."""
    submission = make_submission(world.assignment, world.alice, score=8, created_at=timezone.now() - timedelta(days=1))
    for position, (check_id, name, passed, feedback) in enumerate(OUTCOMES):
        CheckOutcome.objects.create(
            submission=submission,
            position=position,
            check_id=check_id,
            name=name,
            passed=passed,
            points=2 if passed else 0,
            max_points=2,
            feedback=feedback,
        )
    return submission


def as_user(client, username):
    client.login(username=username, password=PASSWORD)
    return client


def move_deadline(assignment, delta):
    assignment.deadline = timezone.now() + delta
    assignment.save(update_fields=["deadline"])


def page_of(client, submission) -> str:
    return client.get(reverse("submission", args=[submission.pk])).content.decode()


def check_item(page: str, check_id: str) -> str:
    return re.search(rf'<li [^>]*data-check="{check_id}">(.*?)</li>', page, re.S).group(1)


def shown_score(page: str) -> str:
    return re.search(r'id="score">(.*?)</span>', page, re.S).group(1).strip()


def status_of(client, submission) -> dict:
    return client.get(reverse("submission_status", args=[submission.pk])).json()


def test_a_student_before_the_deadline_sees_the_hidden_checks_name_and_when_it_shows_but_not_its_verdict(
    client, graded
):
    page = page_of(as_user(client, "alice"), graded)
    cleanup = check_item(page, "cleanup")
    assert "Cleanup" in cleanup and "hidden until the deadline" in cleanup
    assert "✔" not in cleanup and "✘" not in cleanup and "2/2" not in cleanup and "0/2" not in cleanup
    assert CLEANUP_FEEDBACK not in page
    assert "✔ Three objects" in check_item(page, "three_objects")
    assert "The audit never printed the size of notes.txt." in check_item(page, "audit_output")


def test_a_student_before_the_deadline_is_shown_the_visible_checks_score_and_how_many_points_are_hidden(client, graded):
    page = page_of(as_user(client, "alice"), graded)
    assert shown_score(page) == "6/8"
    assert "8/10" not in page
    assert "2 more points are hidden until the deadline" in page


def test_the_status_json_a_student_polls_before_the_deadline_leaves_the_hidden_check_out(client, graded):
    status = status_of(as_user(client, "alice"), graded)
    assert (status["score"], status["max_score"], status["hidden_points"]) == (6, 8, 2)
    assert status["hidden_until"] == graded.assignment.deadline.isoformat()
    assert CLEANUP_FEEDBACK not in json.dumps(status)


def test_the_assignment_page_lists_a_students_submission_with_the_visible_score_only(client, graded, world):
    page = as_user(client, "alice").get(reverse("assignment", args=[world.assignment.pk])).content.decode()
    cell = re.search(r'<td class="score">(.*?)</td>', page, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", cell).split() == ["6/8", "+2", "hidden", "until", "the", "deadline"]


def test_an_override_set_before_the_deadline_is_not_shown_to_the_student_until_it(client, graded, world):
    ScoreOverride.objects.create(submission=graded, score=10, reason="cleanup was right", created_by=world.ada)
    as_user(client, "alice")
    page = page_of(client, graded)
    assert shown_score(page) == "6/8" and "10/10" not in page and "cleanup was right" not in page
    assert "set this submission's score by hand; it shows after the deadline" in page
    assert status_of(client, graded)["score"] == 6


def test_after_the_deadline_the_student_sees_every_verdict_and_the_whole_score(client, graded, world):
    move_deadline(world.assignment, -timedelta(hours=1))
    as_user(client, "alice")
    page = page_of(client, graded)
    assert "✔ Cleanup" in check_item(page, "cleanup") and "2/2" in check_item(page, "cleanup")
    assert CLEANUP_FEEDBACK in page
    assert shown_score(page) == "8/10" and "hidden until the deadline" not in page
    status = status_of(client, graded)
    assert (status["score"], status["max_score"], status["hidden_points"], status["hidden_until"]) == (8, 10, 0, None)


def test_with_no_deadline_there_is_nothing_to_wait_for_and_the_student_sees_every_verdict(client, graded, world):
    world.assignment.deadline = None
    world.assignment.save(update_fields=["deadline"])
    page = page_of(as_user(client, "alice"), graded)
    assert CLEANUP_FEEDBACK in page and shown_score(page) == "8/10"


def test_with_no_deadline_the_gradebook_tells_staff_the_after_due_checks_are_shown(client, graded, world):
    world.assignment.deadline = None
    world.assignment.save(update_fields=["deadline"])
    book = as_user(client, "ada").get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    assert "no deadline, so its after_due checks are shown to students now" in book


def test_moving_the_deadline_later_hides_the_verdict_again(client, graded, world):
    move_deadline(world.assignment, -timedelta(hours=1))
    assert CLEANUP_FEEDBACK in page_of(as_user(client, "alice"), graded)
    move_deadline(world.assignment, timedelta(days=2))
    assert CLEANUP_FEEDBACK not in page_of(client, graded)


def test_an_instructor_before_the_deadline_sees_every_verdict_marked_hidden_from_students(client, graded):
    page = page_of(as_user(client, "ada"), graded)
    cleanup = check_item(page, "cleanup")
    assert "✔ Cleanup" in cleanup and "2/2" in cleanup and CLEANUP_FEEDBACK in cleanup
    assert "hidden from students until" in cleanup
    assert "hidden from students" not in check_item(page, "three_objects")
    assert shown_score(page) == "8/10"
    assert "the student sees 6/8" in page
    assert status_of(client, graded)["score"] == 8


def test_an_admin_before_the_deadline_sees_every_verdict_too(client, graded):
    page = page_of(as_user(client, "admin"), graded)
    assert CLEANUP_FEEDBACK in page and shown_score(page) == "8/10"


def test_the_gradebook_and_its_csv_show_the_hidden_checks_verdicts_marked_hidden_from_students(client, graded, world):
    as_user(client, "ada")
    book = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    header = re.search(r'<th class="check" data-check="cleanup"[^>]*>(.*?)</th>', book, re.S).group(1)
    assert "hidden from students" in header
    row = re.search(r'<tr data-student="alice">(.*?)</tr>', book, re.S).group(1)
    assert "8/10" in row
    response = client.get(reverse("gradebook_csv", args=[world.assignment.pk]))
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert (rows["alice"]["score"], rows["alice"]["cleanup"], rows["alice"]["hidden_from_students"]) == (
        "8",
        "pass",
        "cleanup",
    )


def test_after_the_deadline_the_csv_says_nothing_is_hidden_from_students(client, graded, world):
    move_deadline(world.assignment, -timedelta(hours=1))
    response = as_user(client, "ada").get(reverse("gradebook_csv", args=[world.assignment.pk]))
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}
    assert rows["alice"]["hidden_from_students"] == ""


def test_a_check_the_definition_no_longer_names_is_shown(client, graded):
    CheckOutcome.objects.create(
        submission=graded,
        position=9,
        check_id="retired_check",
        name="Retired",
        passed=True,
        points=0,
        max_points=0,
        feedback="A check since removed from the lab.",
    )
    page = page_of(as_user(client, "alice"), graded)
    assert "A check since removed from the lab." in check_item(page, "retired_check")


def test_at_the_deadline_itself_the_verdict_is_still_hidden(world):
    deadline = world.assignment.deadline
    assert selectors.hidden_check_ids(world.assignment, now=deadline) == {"cleanup"}
    assert selectors.hidden_check_ids(world.assignment, now=deadline + timedelta(seconds=1)) == set()
