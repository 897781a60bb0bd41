"""One rule for late work: the submission time, the deadline and the policy as they are now.

Every transition is checked where people read a score: the student's page, the gradebook
row and the CSV, after an instructor changes the settings through the settings form.
"""

import csv
import io
import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from submissions.models import Submission
from submissions.services import submission_create
from tests.factories import PASSWORD, make_submission

SCRIPT = ("lab.py", b"import boto3\n")

# (score shown, late marks) on the page and in the gradebook; (score, late, late_not_counted) in the CSV.
ON_TIME = {"page": ("10/10", []), "gradebook": ("10/10", []), "csv": ("10", "no", "0")}
PENALISED = {"page": ("8/10", ["late"]), "gradebook": ("8/10", ["late"]), "csv": ("8", "yes", "0")}
NOT_COUNTED = {
    "page": ("not counted", ["late"]),
    "gradebook": ("–", ["1 late, not counted"]),
    "csv": ("", "no", "1"),
}


def submitted_now(world, *, deadline_from_now: timedelta, score: int = 10) -> Submission:
    """Alice uploads now, through the service, against a deadline this far from now; the checks gave `score`/10."""
    world.assignment.deadline = timezone.now() + deadline_from_now
    world.assignment.late_policy = "penalty"
    world.assignment.late_penalty_percent = 20
    world.assignment.save()
    submission = submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])
    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.GRADED, score=score, max_score=10)
    return submission


def change_settings(client, assignment, **changes) -> None:
    """What an instructor does on the settings page: the current values, with some changed."""
    assignment.refresh_from_db()
    data = {
        "deadline": assignment.deadline,
        "late_policy": assignment.late_policy,
        "late_penalty_percent": assignment.late_penalty_percent,
        "counting": assignment.counting,
        "max_submissions": assignment.max_submissions or "",
        "max_per_hour": assignment.max_per_hour or "",
        **changes,
    }
    deadline = data["deadline"]
    data["deadline"] = timezone.localtime(deadline).strftime("%Y-%m-%dT%H:%M") if deadline else ""
    client.login(username="ada", password=PASSWORD)
    response = client.post(reverse("assignment_settings", args=[assignment.pk]), data)
    assert response.status_code == 302, response.content.decode()


def badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge[^"]*">(.*?)</span>', html)


def what_everyone_sees(client, world, submission: Submission) -> dict:
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    meta = re.search(r'<p class="meta">(.*?)</p>', page, re.S).group(1)
    score = re.search(r'id="score">(.*?)</span>', page, re.S)
    client.login(username="ada", password=PASSWORD)
    book = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    row = re.search(r'<tr data-student="alice">(.*?)</tr>', book, re.S).group(1)
    cell = re.search(r'<td class="score">(.*?)</td>', row, re.S).group(1)
    response = client.get(reverse("gradebook_csv", args=[world.assignment.pk]))
    line = {r["student"]: r for r in csv.DictReader(io.StringIO(response.content.decode()))}["alice"]
    return {
        "page": (score.group(1).strip() if score else None, badges(meta)),
        "gradebook": (re.sub(r"<[^>]+>", "", cell).strip(), badges(row)),
        # A CSV without the column has left nothing out; where something was left out it must say so.
        "csv": (line["score"], line["late"], line.get("late_not_counted", "0")),
    }


def test_late_work_under_a_penalty_loses_the_penalty_everywhere(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    assert what_everyone_sees(client, world, late) == PENALISED


def test_switching_from_penalty_to_hard_cutoff_stops_late_work_from_counting(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, late_policy="hard")
    assert what_everyone_sees(client, world, late) == NOT_COUNTED


def test_switching_from_hard_cutoff_back_to_penalty_counts_late_work_with_the_penalty(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, late_policy="hard")
    assert what_everyone_sees(client, world, late) == NOT_COUNTED
    change_settings(client, world.assignment, late_policy="penalty")
    assert what_everyone_sees(client, world, late) == PENALISED


def test_moving_the_deadline_later_makes_earlier_late_work_on_time(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, deadline=timezone.now() + timedelta(days=1))
    assert what_everyone_sees(client, world, late) == ON_TIME


def test_moving_the_deadline_later_under_a_hard_cutoff_makes_late_work_count_in_full(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, late_policy="hard")
    assert what_everyone_sees(client, world, late) == NOT_COUNTED
    change_settings(client, world.assignment, deadline=timezone.now() + timedelta(days=1))
    assert what_everyone_sees(client, world, late) == ON_TIME


def test_moving_the_deadline_earlier_makes_earlier_on_time_work_late(client, world, enqueued):
    on_time = submitted_now(world, deadline_from_now=timedelta(hours=1))
    assert what_everyone_sees(client, world, on_time) == ON_TIME
    change_settings(client, world.assignment, deadline=timezone.now() - timedelta(hours=1))
    assert what_everyone_sees(client, world, on_time) == PENALISED
    change_settings(client, world.assignment, late_policy="hard")
    assert what_everyone_sees(client, world, on_time) == NOT_COUNTED


def test_removing_the_deadline_makes_every_submission_on_time(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, deadline="")
    assert what_everyone_sees(client, world, late) == ON_TIME
    change_settings(client, world.assignment, late_policy="hard")
    assert what_everyone_sees(client, world, late) == ON_TIME


def test_under_a_hard_cutoff_the_gradebook_counts_the_last_work_handed_in_on_time(client, world, enqueued):
    world.assignment.counting = "latest"
    world.assignment.save()
    on_time = make_submission(world.assignment, world.alice, score=6, created_at=timezone.now() - timedelta(hours=2))
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    change_settings(client, world.assignment, late_policy="hard")
    seen = what_everyone_sees(client, world, late)
    assert seen["gradebook"] == ("6/10", ["1 late, not counted"])
    assert seen["csv"] == ("6", "no", "1")
    row = re.search(
        r'<tr data-student="alice">(.*?)</tr>',
        client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode(),
        re.S,
    ).group(1)
    assert f'href="/submissions/{on_time.pk}/"' in row


def test_the_student_page_says_why_late_work_scores_what_it_scores(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("submission", args=[late.pk])).content.decode()
    assert "the checks gave 10/10, minus 2 points (20%) for late work" in page
    change_settings(client, world.assignment, late_policy="hard")
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("submission", args=[late.pk])).content.decode()
    assert "Not counted: handed in after the deadline, which is a hard cutoff; the checks gave 10/10." in page


def test_the_admin_filters_late_work_against_the_deadline_as_it_is_now(client, world, enqueued):
    late = submitted_now(world, deadline_from_now=-timedelta(hours=1))
    on_time = make_submission(world.assignment, world.bob, score=5, created_at=timezone.now() - timedelta(hours=2))
    client.login(username="admin", password=PASSWORD)

    def listed(late_filter: str) -> set[int]:
        page = client.get(f"/admin/submissions/submission/?late={late_filter}").content.decode()
        return {int(pk) for pk in re.findall(r"/admin/submissions/submission/(\d+)/change/", page)}

    assert (listed("yes"), listed("no")) == ({late.pk}, {on_time.pk})
    change_settings(client, world.assignment, deadline="")
    client.login(username="admin", password=PASSWORD)
    assert (listed("yes"), listed("no")) == (set(), {late.pk, on_time.pk})
