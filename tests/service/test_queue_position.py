"""The queue position counts only the work ahead on the submission's own queue (issue 9, item 5):
live submissions go to `grading`, admin re-runs to `admin`, each served in the order it was queued."""

from datetime import timedelta

from django.utils import timezone

from submissions import selectors, services
from submissions.models import Submission
from tests.factories import make_submission


def reexecute(world, submissions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.bulk_job_start(
            kind="reexecute",
            submissions=Submission.objects.filter(pk__in=[s.pk for s in submissions]),
            description="all",
            by=world.admin,
        )


def upload(world, student) -> Submission:
    return services.submission_create(
        assignment=world.assignment, student=student, uploads=[("lab.py", b"import boto3\n")]
    )


def position(submission: Submission) -> int | None:
    submission.refresh_from_db()
    return selectors.queue_position(submission)


def test_an_admin_re_execution_of_31_submissions_does_not_count_ahead_of_a_students_upload(
    world, enqueued, django_capture_on_commit_callbacks
):
    earlier = timezone.now() - timedelta(days=1)
    graded = [make_submission(world.assignment, world.bob, score=8, created_at=earlier) for _ in range(31)]
    reexecute(world, graded, django_capture_on_commit_callbacks)
    assert all(options == {"queue": "admin"} for _, _, options in enqueued)

    mine = upload(world, world.alice)
    assert position(mine) == 1
    assert selectors.status_payload(mine)["queue_position"] == 1


def test_a_re_run_counts_only_the_re_runs_queued_before_it(world, enqueued, django_capture_on_commit_callbacks):
    live = [upload(world, world.alice), upload(world, world.bob)]
    earlier = timezone.now() - timedelta(days=1)
    old = [make_submission(world.assignment, world.bob, score=8, created_at=earlier) for _ in range(3)]
    reexecute(world, old, django_capture_on_commit_callbacks)
    assert [position(s) for s in old] == [1, 2, 3]
    assert [position(s) for s in live] == [1, 2]


def test_a_live_submission_counts_the_live_submissions_queued_before_it(world, enqueued):
    first, second, third = (upload(world, student) for student in (world.alice, world.bob, world.alice))
    assert [position(s) for s in (first, second, third)] == [1, 2, 3]
    services.submission_claim(submission_id=first.pk)  # a worker took it: it is no longer ahead of anyone
    assert [position(s) for s in (first, second, third)] == [None, 1, 2]


def test_a_grader_retry_waits_behind_what_was_queued_before_the_retry(world, enqueued, monkeypatch):
    from engine.errors import InfrastructureError

    def grade(**kwargs):
        raise InfrastructureError("moto server failed to start")

    monkeypatch.setattr(services, "grade", grade)
    retried = upload(world, world.alice)
    later = upload(world, world.bob)
    services.submission_grade(submission_id=retried.pk)  # fails, queued again behind `later`
    assert position(later) == 1 and position(retried) == 2
