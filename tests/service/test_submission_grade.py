from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engine.errors import InfrastructureError
from submissions import services
from submissions.models import Submission
from tests.factories import make_submission

LAB06 = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager"


def queued(world, example: str = "solutions/correct_client.py") -> Submission:
    return make_submission(
        world.assignment, world.alice, status=Submission.Status.QUEUED, source=(LAB06 / example).read_bytes()
    )


def test_grading_runs_the_real_sandbox_and_stores_record_outcomes_and_score(world, enqueued):
    submission = queued(world)
    assert services.submission_grade(submission_id=submission.pk) == "graded"
    submission.refresh_from_db()
    assert (submission.status, submission.score, submission.max_score) == (Submission.Status.GRADED, 10, 10)
    assert [o.check_id for o in submission.outcomes.all()] == [
        "three_objects",
        "one_tagged",
        "audit_output",
        "cleanup",
        "explains_empty_rule",
    ]
    assert submission.run_record["calls"][0]["operation"] == "CreateBucket"
    assert submission.times_graded == 1


def test_a_second_delivery_of_the_same_message_does_not_grade_again(world, enqueued):
    submission = queued(world)
    services.submission_grade(submission_id=submission.pk)
    assert services.submission_grade(submission_id=submission.pk).startswith("skipped")
    submission.refresh_from_db()
    assert submission.times_graded == 1


def test_a_row_claimed_by_a_live_worker_cannot_be_claimed_again(world):
    submission = queued(world)
    assert services.submission_claim(submission_id=submission.pk)
    assert services.submission_claim(submission_id=submission.pk) is None


def test_a_row_whose_lease_expired_can_be_claimed_by_another_worker(world):
    submission = queued(world)
    services.submission_claim(submission_id=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.submission_claim(submission_id=submission.pk)


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_owners_result(world, enqueued):
    submission = queued(world)
    stale_token = services.submission_claim(submission_id=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    services.submission_grade(submission_id=submission.pk)  # the new owner grades it
    from engine.grading import GradeReport
    from engine.record import RunRecord

    stale = GradeReport(assignment="x", record=RunRecord(exit_code=0, timed_out=False, duration_s=0), checks=[])
    assert services._store_report(submission, stale_token, stale) is False
    submission.refresh_from_db()
    assert submission.score == 10 and submission.times_graded == 1


def failing_grader(monkeypatch, reason="moto server failed to start"):
    def grade(**kwargs):
        raise InfrastructureError(reason)

    monkeypatch.setattr(services, "grade", grade)


def test_a_grader_failure_is_retried_and_the_student_is_told(world, enqueued, monkeypatch, settings):
    failing_grader(monkeypatch)
    submission = queued(world)
    assert services.submission_grade(submission_id=submission.pk) == "retry scheduled"
    submission.refresh_from_db()
    assert submission.status == Submission.Status.QUEUED and submission.infra_failures == 1
    assert "moto server failed to start" in submission.problem and "retrying" in submission.problem
    assert enqueued == [
        ("grade_submission", (submission.pk,), {"queue": "grading", "countdown": settings.GRADING_RETRY_DELAY_S})
    ]


def test_repeated_grader_failures_end_as_not_gradable_and_never_count(world, enqueued, monkeypatch, settings):
    failing_grader(monkeypatch)
    submission = queued(world)
    for _ in range(settings.GRADING_MAX_INFRA_RETRIES):
        services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.status == Submission.Status.NOT_GRADABLE and submission.score is None
    assert "does not count as an attempt" in submission.problem
    world.assignment.max_submissions = 1
    world.assignment.save()
    assert services.submission_create(
        assignment=world.assignment, student=world.alice, uploads=[("lab.py", b"import boto3\n")]
    )


def test_rechecking_reuses_the_stored_record_without_running_the_script(world, enqueued, monkeypatch):
    submission = queued(world, "examples/wrong_no_comment.py")
    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.score == 8
    failing_grader(monkeypatch, "must not run")  # a re-check that executed would fail loudly
    submission.run_record["sources"] = {"main.py": "# BucketNotEmpty: empty it first\n"}
    Submission.objects.filter(pk=submission.pk).update(run_record=submission.run_record)
    submission.refresh_from_db()
    assert services.submission_recheck(submission=submission)
    submission.refresh_from_db()
    assert submission.score == 10
    assert submission.outcomes.get(check_id="explains_empty_rule").passed


def test_a_bulk_job_counts_its_progress_to_the_end(world, enqueued, django_capture_on_commit_callbacks):
    subs = [make_submission(world.assignment, world.alice, score=5) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        job = services.bulk_job_start(
            kind="recheck",
            submissions=Submission.objects.filter(pk__in=[s.pk for s in subs]),
            description="all",
            by=world.admin,
        )
    # A re-check goes in bulk: one message for the three (tests/service/test_bulk_recheck.py).
    assert enqueued == [
        ("recheck_submissions", (sorted((s.pk for s in subs), reverse=True), job.pk), {"queue": "admin"})
    ]
    services.bulk_job_advance(job_id=job.pk, by=2)
    job.refresh_from_db()
    assert not job.finished and job.finished_at is None
    services.bulk_job_advance(job_id=job.pk)
    job.refresh_from_db()
    assert job.finished and job.finished_at is not None


def test_the_sweep_requeues_expired_leases_and_lost_messages_only(world, enqueued):
    now = timezone.now()
    dead_worker = make_submission(
        world.assignment, world.alice, status=Submission.Status.RUNNING, lease_expires_at=now - timedelta(seconds=5)
    )
    live_worker = make_submission(
        world.assignment, world.alice, status=Submission.Status.RUNNING, lease_expires_at=now + timedelta(seconds=60)
    )
    lost = make_submission(
        world.assignment, world.bob, status=Submission.Status.QUEUED, enqueued_at=now - timedelta(hours=1)
    )
    fresh = make_submission(world.assignment, world.bob, status=Submission.Status.QUEUED, enqueued_at=now)
    assert services.sweep_stuck(now=now) == 2
    assert sorted(args[0] for _, args, _ in enqueued) == sorted([dead_worker.pk, lost.pk])
    dead_worker.refresh_from_db()
    assert dead_worker.status == Submission.Status.QUEUED
    live_worker.refresh_from_db()
    fresh.refresh_from_db()
    assert live_worker.status == Submission.Status.RUNNING and fresh.enqueued_at == now


@pytest.mark.parametrize(
    "handed_in,deadline,policy,expected",
    [
        (-1, None, "hard", 9),  # no deadline: never late
        (-1, 0, "penalty", 9),  # before the deadline
        (0, 0, "penalty", 9),  # at the deadline is on time
        (1, 0, "penalty", 7),  # late: loses 20% of the maximum 10
        (1, 0, "hard", None),  # late under a hard cutoff: does not count
    ],
)
def test_the_counted_score_follows_the_late_rule(world, handed_in, deadline, policy, expected):
    now = timezone.now()
    world.assignment.deadline = None if deadline is None else now + timedelta(minutes=deadline)
    world.assignment.late_policy = policy
    world.assignment.late_penalty_percent = 20
    world.assignment.save()
    submission = make_submission(world.assignment, world.alice, score=9, created_at=now + timedelta(minutes=handed_in))
    assert submission.counted_score() == expected


def test_the_penalty_never_takes_a_score_below_zero(world):
    world.assignment.deadline = timezone.now() - timedelta(hours=1)
    world.assignment.late_penalty_percent = 50
    world.assignment.save()
    counted = make_submission(world.assignment, world.alice, score=3).counted()
    assert (counted.score, counted.penalty) == (0, 3)


def test_an_override_wins_over_the_late_rule_and_its_history_is_kept(world):
    world.assignment.deadline = timezone.now() - timedelta(hours=1)
    world.assignment.late_policy = "hard"
    world.assignment.save()
    submission = make_submission(world.assignment, world.alice, score=4)
    services.score_override(submission=submission, score=8, reason="moto bug on the day", by=world.ada)
    services.score_override(submission=submission, score=9, reason="re-read the audit", by=world.ada)
    assert submission.counted_score() == 9
    assert [o.score for o in submission.overrides.all()] == [9, 8]
    with pytest.raises(ValidationError, match="an override needs a reason"):
        services.score_override(submission=submission, score=1, reason="  ", by=world.ada)
    with pytest.raises(ValidationError, match="between 0 and 10"):
        services.score_override(submission=submission, score=11, reason="bonus", by=world.ada)
    services.score_override_remove(submission=submission, by=world.ada)
    assert submission.counted_score() is None  # the hard cutoff applies again
    with pytest.raises(services.NoOverride):
        services.score_override_remove(submission=submission, by=world.ada)


def test_re_execution_queues_the_submission_at_once_with_fresh_retries(
    world, enqueued, django_capture_on_commit_callbacks
):
    done = make_submission(
        world.assignment,
        world.alice,
        status=Submission.Status.NOT_GRADABLE,
        infra_failures=3,
        problem="Not gradable: the grader failed",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.bulk_job_start(
            kind="reexecute", submissions=Submission.objects.filter(pk=done.pk), description="one", by=world.admin
        )
    done.refresh_from_db()
    assert (done.status, done.infra_failures, done.problem) == (Submission.Status.QUEUED, 0, "")
    [(task, args, options)] = enqueued
    assert (task, args[0], options) == ("reexecute_submission", done.pk, {"queue": "admin"})


def test_the_sweep_leaves_long_queued_rows_alone_while_the_broker_still_has_a_backlog(world, enqueued, monkeypatch):
    monkeypatch.setattr(services, "broker_backlog", lambda queue: 120)
    make_submission(
        world.assignment, world.bob, status=Submission.Status.QUEUED, enqueued_at=timezone.now() - timedelta(hours=1)
    )
    assert services.sweep_stuck() == 0 and enqueued == []
