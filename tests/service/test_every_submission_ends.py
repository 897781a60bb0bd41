"""Every submission ends: a crash, a missing assignment definition or a worker that keeps
dying ends, after a bounded number of attempts, in NOT GRADABLE with its reason (issue 9,
item 1). The same through a real Celery worker: tests/faults/test_poison_messages.py."""

from datetime import timedelta

import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from submissions import services, tasks
from submissions.models import Assignment, Submission
from tests.factories import PASSWORD, make_submission

GONE = "lab-whose-toml-was-deleted"


def queued(world, assignment=None) -> Submission:
    return make_submission(assignment or world.assignment, world.alice, status=Submission.Status.QUEUED)


def run_task_until_quiet(submission, enqueued, limit: int = 20) -> int:
    """Deliver grade_submission as a worker would, and every retry it schedules; returns the deliveries."""
    deliveries, seen = 0, 0
    pending = [(submission.pk,)]
    while pending and deliveries < limit:
        tasks.grade_submission.apply(pending.pop(0))
        deliveries += 1
        pending += [args for name, args, _ in enqueued[seen:] if name == "grade_submission"]
        seen = len(enqueued)
    return deliveries


def vanish(assignment: Assignment) -> None:
    """The assignment's TOML file was deleted or renamed after the assignment was saved."""
    Assignment.objects.filter(pk=assignment.pk).update(spec=GONE)
    assignment.refresh_from_db()


@pytest.mark.parametrize("spec", [GONE, "../assignments/s3-content-manager", "s3-content-manager.toml", " "])
def test_an_assignment_that_names_no_definition_cannot_be_saved(world, spec):
    assignment = Assignment(course=world.course, spec=spec, title="Lab 7")
    with pytest.raises(ValidationError) as raised:
        assignment.full_clean()
    assert "spec" in raised.value.message_dict


def test_an_assignment_that_names_a_definition_validates(world):
    Assignment(course=world.course, spec="s3-walkthrough", title="Walkthrough").full_clean()


def test_the_django_admin_refuses_an_assignment_whose_definition_does_not_exist(client, world):
    client.login(username="admin", password=PASSWORD)
    before = Assignment.objects.count()
    form = {
        "course": world.course.pk,
        "spec": GONE,
        "title": "Lab 7",
        "late_policy": "penalty",
        "late_penalty_percent": 20,
        "counting": "best",
        "max_per_hour": 20,
    }
    response = client.post(reverse("admin:submissions_assignment_add"), form)
    assert response.status_code == 200, "the admin saved it"
    assert "no assignment package" in response.content.decode()
    assert Assignment.objects.count() == before
    response = client.post(reverse("admin:submissions_assignment_add"), {**form, "spec": "s3-walkthrough"})
    assert response.status_code == 302 and Assignment.objects.count() == before + 1


def test_the_settings_of_an_assignment_whose_definition_vanished_can_still_be_saved(client, world):
    vanish(world.assignment)
    client.login(username="ada", password=PASSWORD)
    response = client.post(
        reverse("assignment_settings", args=[world.assignment.pk]),
        {"late_policy": "penalty", "late_penalty_percent": 10, "counting": "best", "max_per_hour": 5},
    )
    assert response.status_code == 302
    world.assignment.refresh_from_db()
    assert world.assignment.late_penalty_percent == 10


def test_each_claim_counts_a_grading_attempt(world):
    submission = queued(world)
    services.submission_claim(submission_id=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    services.submission_claim(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.grading_attempts == 2


def test_grading_for_an_assignment_whose_definition_vanished_ends_not_gradable_at_once(world, enqueued):
    submission = queued(world)
    vanish(world.assignment)
    assert run_task_until_quiet(submission, enqueued) == 1
    submission.refresh_from_db()
    assert submission.status == Submission.Status.NOT_GRADABLE
    assert GONE in submission.problem and "definition" in submission.problem
    assert "does not count as an attempt" in submission.problem


@pytest.mark.parametrize(
    "crash",
    [
        RuntimeError("a bug in the grader"),
        KeyError("calls"),  # a corrupt run record
        SoftTimeLimitExceeded(),
    ],
    ids=["bug", "corrupt-record", "soft-time-limit"],
)
def test_a_crash_while_grading_is_retried_a_bounded_number_of_times_then_ends_not_gradable(
    world, enqueued, monkeypatch, settings, crash
):
    def grade(**kwargs):
        raise crash

    monkeypatch.setattr(services, "grade", grade)
    submission = queued(world)
    deliveries = run_task_until_quiet(submission, enqueued)
    submission.refresh_from_db()
    assert deliveries == settings.GRADING_MAX_ATTEMPTS
    assert submission.grading_attempts == settings.GRADING_MAX_ATTEMPTS
    assert submission.status == Submission.Status.NOT_GRADABLE and submission.score is None
    assert type(crash).__name__ in submission.problem
    assert "does not count as an attempt" in submission.problem


def test_a_crash_is_told_to_the_student_while_it_is_retried(world, enqueued, monkeypatch):
    def grade(**kwargs):
        raise RuntimeError("a bug in the grader")

    monkeypatch.setattr(services, "grade", grade)
    submission = queued(world)
    tasks.grade_submission.apply((submission.pk,))
    submission.refresh_from_db()
    assert submission.status == Submission.Status.QUEUED
    assert "RuntimeError: a bug in the grader" in submission.problem and "retrying" in submission.problem
    assert [name for name, _, _ in enqueued] == ["grade_submission"]


def test_the_sweep_gives_up_on_a_submission_whose_worker_keeps_dying(world, enqueued, settings):
    now = timezone.now()
    dying = make_submission(
        world.assignment,
        world.alice,
        status=Submission.Status.RUNNING,
        lease_expires_at=now - timedelta(seconds=5),
        grading_attempts=settings.GRADING_MAX_ATTEMPTS,
    )
    again = make_submission(
        world.assignment,
        world.bob,
        status=Submission.Status.RUNNING,
        lease_expires_at=now - timedelta(seconds=5),
        grading_attempts=settings.GRADING_MAX_ATTEMPTS - 1,
    )
    assert services.sweep_stuck(now=now) == 1
    assert [args for _, args, _ in enqueued] == [(again.pk,)]
    dying.refresh_from_db()
    assert dying.status == Submission.Status.NOT_GRADABLE and dying.lease_expires_at is None
    assert f"{settings.GRADING_MAX_ATTEMPTS} attempts" in dying.problem
    assert "does not count as an attempt" in dying.problem


def test_re_execution_gives_a_fresh_allowance_of_attempts(world, enqueued, django_capture_on_commit_callbacks):
    spent = make_submission(
        world.assignment, world.alice, status=Submission.Status.NOT_GRADABLE, grading_attempts=3, problem="crashed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.bulk_job_start(
            kind="reexecute", submissions=Submission.objects.filter(pk=spent.pk), description="one", by=world.admin
        )
    spent.refresh_from_db()
    assert (spent.status, spent.grading_attempts, spent.problem) == (Submission.Status.QUEUED, 0, "")


def test_the_pages_of_an_assignment_whose_definition_vanished_do_not_fail(client, world):
    graded = make_submission(world.assignment, world.alice, score=8)
    stuck = make_submission(
        world.assignment,
        world.bob,
        status=Submission.Status.NOT_GRADABLE,
        problem=f"Not gradable: the assignment definition {GONE!r} cannot be loaded",
    )
    vanish(world.assignment)
    client.raise_request_exception = False
    client.login(username="ada", password=PASSWORD)
    for name, args in [
        ("gradebook", [world.assignment.pk]),
        ("gradebook_csv", [world.assignment.pk]),
        ("assignment", [world.assignment.pk]),
        ("submission", [graded.pk]),
        ("submission", [stuck.pk]),
    ]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200, (name, response.status_code)
    gradebook = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    assert "cannot be loaded" in gradebook
    client.login(username="bob", password=PASSWORD)
    page = client.get(reverse("submission", args=[stuck.pk]))
    assert page.status_code == 200 and "cannot be loaded" in page.content.decode()


def test_staff_see_the_not_gradable_submissions_and_why_on_the_gradebook(client, world):
    stuck = make_submission(
        world.assignment,
        world.bob,
        status=Submission.Status.NOT_GRADABLE,
        problem="Not gradable: the grader crashed (RuntimeError: a bug).",
    )
    client.login(username="ada", password=PASSWORD)
    gradebook = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    assert f'href="/submissions/{stuck.pk}/"' in gradebook
    assert "the grader crashed (RuntimeError: a bug)" in gradebook
