"""Writes. Views and tasks are thin interfaces over these."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from engine.errors import InfrastructureError, SubmissionError
from engine.files import choose_entry_point, from_folder, from_uploads
from engine.grading import GradeReport, evaluate, grade
from engine.record import RunRecord
from submissions.models import Assignment, BulkJob, CheckOutcome, Course, ScoreOverride, Submission, SubmissionFile


class SubmissionRejected(Exception):
    """An upload refused before anything was stored; the message is for the student."""


def submission_create(
    *, assignment: Assignment, student, uploads: list[tuple[str, bytes]], entry_point: str | None = None
) -> Submission:
    now = timezone.now()
    if not assignment.course.students.filter(pk=student.pk).exists():
        raise SubmissionRejected("You are not enrolled in this course.")
    if assignment.is_late(now) and assignment.late_policy == Assignment.LatePolicy.HARD:
        raise SubmissionRejected(
            f"The deadline ({assignment.deadline:%Y-%m-%d %H:%M %Z}) has passed; "
            "this assignment accepts no late submissions."
        )
    try:
        files = from_uploads(uploads)
        entry = choose_entry_point(files, entry_point or None)
    except SubmissionError as error:
        raise SubmissionRejected(str(error)) from None
    with transaction.atomic():
        _lock_enrolment(assignment, student)
        _check_limits(assignment, student, now)
        submission = Submission.objects.create(
            assignment=assignment,
            student=student,
            created_at=now,
            entry_point=entry,
            enqueued_at=now,
        )
        SubmissionFile.objects.bulk_create(
            SubmissionFile(submission=submission, name=f.name, content=f.content) for f in files
        )
        _enqueue_on_commit(submission.pk)
    return submission


def _lock_enrolment(assignment: Assignment, student) -> None:
    """Hold this student's enrolment row until the transaction ends.

    The limits count the submissions already stored and then insert one; two uploads
    of one student at once would both count the same total. Locking one row per
    (course, student) makes the second wait until the first committed, then count
    again. (PostgreSQL: SELECT ... FOR UPDATE; SQLite locks the whole database at
    the transaction's start instead: settings.py.)
    """
    enrolment = Course.students.through.objects.filter(course_id=assignment.course_id, user_id=student.pk)
    if not list(enrolment.select_for_update().values_list("pk", flat=True)):
        raise SubmissionRejected("You are not enrolled in this course.")


def _check_limits(assignment: Assignment, student, now) -> None:
    # Grader failures are never held against the student.
    counted = Submission.objects.filter(assignment=assignment, student=student).exclude(
        status=Submission.Status.NOT_GRADABLE
    )
    if assignment.max_submissions is not None and counted.count() >= assignment.max_submissions:
        raise SubmissionRejected(f"You have used all {assignment.max_submissions} submissions for this assignment.")
    if assignment.max_per_hour is not None:
        recent = counted.filter(created_at__gt=now - timedelta(hours=1)).order_by("created_at")
        if recent.count() >= assignment.max_per_hour:
            wait = recent.first().created_at + timedelta(hours=1) - now
            plural = "s" if assignment.max_per_hour != 1 else ""
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            raise SubmissionRejected(
                f"At most {assignment.max_per_hour} submission{plural} per hour; try again in {minutes} min."
            )


def _enqueue_on_commit(submission_id: int, queue: str = "grading") -> None:
    from submissions import tasks

    # robust: if the broker is down, the row is stored and queued all the same;
    # the sweep sends it again once the message is overdue.
    transaction.on_commit(lambda: tasks.grade_submission.apply_async((submission_id,), queue=queue), robust=True)


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + settings.GRADING_LEASE_MARGIN_S)


def submission_claim(*, submission_id: int) -> str | None:
    """Claim the row for grading; None if another worker holds it or it needs nothing.

    One UPDATE decides, so two deliveries of one message cannot both win.
    """
    now = timezone.now()
    token = str(uuid.uuid4())
    claimable = Q(status=Submission.Status.QUEUED) | Q(status=Submission.Status.RUNNING, lease_expires_at__lt=now)
    won = Submission.objects.filter(claimable, pk=submission_id).update(
        status=Submission.Status.RUNNING, claim_token=token, started_at=now, lease_expires_at=now + lease_duration()
    )
    return token if won else None


def submission_grade(*, submission_id: int) -> str:
    """Run and grade one submission. Returns what happened, for the task's log."""
    token = submission_claim(submission_id=submission_id)
    if token is None:
        return "skipped: claimed elsewhere or already graded"
    submission = Submission.objects.select_related("assignment").get(pk=submission_id)
    uploads = [(f.name, bytes(f.content)) for f in submission.files.all()]
    try:
        report = grade(
            files=from_folder(uploads),  # stored names are validated relative paths
            assignment=submission.assignment.engine_assignment(),
            username=submission.student.username,
            entry_point=submission.entry_point,
        )
    except InfrastructureError as error:
        return _record_infrastructure_failure(submission, token, str(error))
    except SubmissionError as error:
        # Validated at upload; reaching here means the assignment changed under it.
        return _record_infrastructure_failure(submission, token, f"cannot run the submission: {error}", final=True)
    return "graded" if _store_report(submission, token, report) else "discarded: lease lost"


@transaction.atomic
def _store_report(submission: Submission, token: str, report: GradeReport) -> bool:
    updated = Submission.objects.filter(pk=submission.pk, claim_token=token, status=Submission.Status.RUNNING).update(
        status=Submission.Status.GRADED,
        score=report.score,
        max_score=report.max_score,
        run_record=report.record.to_dict(),
        problem="",
        graded_at=timezone.now(),
        lease_expires_at=None,
        times_graded=F("times_graded") + 1,
    )
    if not updated:
        return False  # our lease expired and someone else owns the row now
    _replace_outcomes(submission, report.checks)
    return True


def _replace_outcomes(submission: Submission, results) -> None:
    submission.outcomes.all().delete()
    CheckOutcome.objects.bulk_create(
        CheckOutcome(
            submission=submission,
            position=i,
            check_id=r.id,
            name=r.name,
            passed=r.passed,
            points=r.points,
            max_points=r.max_points,
            feedback=r.feedback,
            error=r.error,
        )
        for i, r in enumerate(results)
    )


def _record_infrastructure_failure(submission: Submission, token: str, reason: str, final: bool = False) -> str:
    from submissions import tasks

    failures = submission.infra_failures + 1
    give_up = final or failures >= settings.GRADING_MAX_INFRA_RETRIES
    status = Submission.Status.NOT_GRADABLE if give_up else Submission.Status.QUEUED
    problem = (
        f"Not gradable: the grader failed ({reason}). This does not count as an attempt; staff can re-run it."
        if give_up
        else f"The grader failed ({reason}); retrying automatically."
    )
    updated = Submission.objects.filter(pk=submission.pk, claim_token=token).update(
        status=status, infra_failures=failures, problem=problem, lease_expires_at=None, enqueued_at=timezone.now()
    )
    if updated and not give_up:
        tasks.grade_submission.apply_async(
            (submission.pk,), queue="grading", countdown=settings.GRADING_RETRY_DELAY_S * failures
        )
    return "not gradable" if give_up else "retry scheduled"


def submission_recheck(*, submission: Submission) -> bool:
    """Re-evaluate the stored run record with the current checks; False if there is none."""
    if not submission.run_record:
        return False
    record = RunRecord.from_dict(submission.run_record)
    results = evaluate(record, submission.assignment.engine_assignment())
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(
            score=sum(r.points for r in results), max_score=sum(r.max_points for r in results)
        )
        _replace_outcomes(submission, results)
    return True


def score_override(*, submission: Submission, score: int, reason: str, by) -> ScoreOverride:
    """Set a score by hand. Raises ValidationError for a score outside 0..max or a blank reason."""
    override = ScoreOverride(submission=submission, score=score, reason=reason.strip(), created_by=by)
    override.full_clean()
    override.save()
    return override


class NoOverride(Exception):
    """There is no override in force to remove."""


def score_override_remove(*, submission: Submission, by, reason: str = "") -> ScoreOverride:
    """Let the checks' score count again; the removal is itself an entry of the history."""
    if submission.current_override is None:
        raise NoOverride("There is no override to remove.")
    return ScoreOverride.objects.create(submission=submission, score=None, reason=reason.strip(), created_by=by)


def bulk_job_start(*, kind: str, submissions, description: str, by, assignment=None) -> BulkJob:
    from submissions import tasks

    ids = list(submissions.values_list("pk", flat=True))
    with transaction.atomic():
        job = BulkJob.objects.create(
            kind=kind,
            assignment=assignment,
            description=description,
            total=len(ids),
            created_by=by,
            finished_at=timezone.now() if not ids else None,
        )
        task = tasks.recheck_submission if kind == BulkJob.Kind.RECHECK else tasks.reexecute_submission
        if kind == BulkJob.Kind.REEXECUTE:
            # Queued at once, so students see it, with a fresh allowance of grader retries;
            # the normal claim then makes a duplicated message harmless.
            Submission.objects.filter(pk__in=ids).update(
                status=Submission.Status.QUEUED, infra_failures=0, problem="", enqueued_at=timezone.now()
            )
        for submission_id in ids:
            transaction.on_commit(lambda sid=submission_id: task.apply_async((sid, job.pk), queue="admin"), robust=True)
    return job


def bulk_job_advance(*, job_id: int) -> None:
    BulkJob.objects.filter(pk=job_id).update(done=F("done") + 1)
    BulkJob.objects.filter(pk=job_id, done__gte=F("total"), finished_at=None).update(finished_at=timezone.now())


def broker_backlog(queue: str) -> int:
    """Messages waiting in a broker queue; 0 when it cannot tell (re-sending is harmless)."""
    from grader.celery import app

    try:
        with app.connection_for_write() as connection:
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except Exception:  # noqa: BLE001 - a broker that cannot answer must not stop the sweep
        return 0


def sweep_stuck(*, now=None) -> int:
    """Re-queue what a dead worker or a lost message left behind. Returns how many were sent again.

    A duplicate message is harmless: the claim lets only one delivery grade.
    """
    from submissions import tasks

    now = now or timezone.now()
    expired = list(
        Submission.objects.filter(status=Submission.Status.RUNNING, lease_expires_at__lt=now).values_list(
            "pk", flat=True
        )
    )
    # Queued longer than a lease without being claimed, while the broker has
    # nothing left to deliver: the message was lost (say, Redis restarted
    # without persistence). While a backlog drains, a long wait is just a queue.
    overdue = Submission.objects.filter(status=Submission.Status.QUEUED, enqueued_at__lt=now - lease_duration())
    lost = list(overdue.values_list("pk", flat=True)) if broker_backlog("grading") == 0 else []
    Submission.objects.filter(pk__in=expired, status=Submission.Status.RUNNING, lease_expires_at__lt=now).update(
        status=Submission.Status.QUEUED, enqueued_at=now, claim_token=""
    )
    Submission.objects.filter(pk__in=lost).update(enqueued_at=now)
    for submission_id in expired + lost:
        tasks.grade_submission.apply_async((submission_id,), queue="grading")
    return len(expired) + len(lost)
