"""Writes. Views and tasks are thin interfaces over these."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from engine.errors import InfrastructureError, SubmissionError
from engine.files import choose_entry_point, from_folder, from_uploads
from engine.grading import GradeReport, evaluate_many, grade
from engine.record import RunRecord
from submissions.models import Assignment, BulkJob, CheckOutcome, Course, ScoreOverride, Submission, SubmissionFile

logger = logging.getLogger(__name__)


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

    One UPDATE decides, so two deliveries of one message cannot both win. Each claim
    counts a grading attempt (see _record_failure and sweep_stuck for the cap).
    """
    now = timezone.now()
    token = str(uuid.uuid4())
    claimable = Q(status=Submission.Status.QUEUED) | Q(status=Submission.Status.RUNNING, lease_expires_at__lt=now)
    won = Submission.objects.filter(claimable, pk=submission_id).update(
        status=Submission.Status.RUNNING,
        claim_token=token,
        started_at=now,
        lease_expires_at=now + lease_duration(),
        grading_attempts=F("grading_attempts") + 1,
    )
    return token if won else None


def submission_grade(*, submission_id: int) -> str:
    """Run and grade one submission. Returns what happened, for the task's log.

    Every way a claimed grading can go wrong ends here (this is the task's failure path,
    kept in the service so that every caller shares it): a grader failure or any other
    exception (a bug, a corrupt record, SoftTimeLimitExceeded) is retried until the
    submission has had GRADING_MAX_ATTEMPTS claims, then it is NOT GRADABLE with the
    reason; what cannot be retried (no assignment definition, files that cannot run)
    is not gradable at once. A worker killed mid-grading runs no handler at all: the
    sweep ends those rows (sweep_stuck).
    """
    token = submission_claim(submission_id=submission_id)
    if token is None:
        return "skipped: claimed elsewhere or already graded"
    try:
        return _grade_claimed(submission_id, token)
    except Exception as error:  # noqa: BLE001 - whatever it was, the row must not stay RUNNING
        logger.exception("grading submission %s failed", submission_id)
        return _record_failure(submission_id, token, _describe(error), crash=True)


def _grade_claimed(submission_id: int, token: str) -> str:
    submission = Submission.objects.select_related("assignment", "student").get(pk=submission_id)
    definition, problem = submission.assignment.definition()
    if definition is None:  # the TOML file was deleted or broken after the assignment was saved
        reason = problem[0].lower() + problem[1:]
        return _record_failure(submission_id, token, reason, final=True, what="this assignment cannot be graded")
    uploads = [(f.name, bytes(f.content)) for f in submission.files.all()]
    try:
        report = grade(
            files=from_folder(uploads),  # stored names are validated relative paths
            assignment=definition,
            username=submission.student.username,
            entry_point=submission.entry_point,
        )
    except InfrastructureError as error:
        return _record_failure(submission_id, token, str(error), infrastructure=True)
    except SubmissionError as error:
        # Validated at upload; reaching here means the assignment changed under it.
        return _record_failure(submission_id, token, f"cannot run the submission: {error}", final=True)
    stored = _store_report(submission, token, report, submission.assignment.package_version_id)
    return "graded" if stored else "discarded: lease lost"


def _describe(error: BaseException) -> str:
    if isinstance(error, SoftTimeLimitExceeded):
        return f"the grader took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s ({type(error).__name__})"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


@transaction.atomic
def _store_report(
    submission: Submission, token: str, report: GradeReport, package_version_id: int | None = None
) -> bool:
    updated = Submission.objects.filter(pk=submission.pk, claim_token=token, status=Submission.Status.RUNNING).update(
        status=Submission.Status.GRADED,
        package_version_id=package_version_id,
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
    CheckOutcome.objects.bulk_create(_outcomes(submission.pk, results))


def _outcomes(submission_id: int, results) -> list[CheckOutcome]:
    return [
        CheckOutcome(
            submission_id=submission_id,
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
    ]


NOT_COUNTED = "This does not count as an attempt; staff can re-run it."


def _record_failure(
    submission_id: int,
    token: str,
    reason: str,
    *,
    infrastructure: bool = False,
    crash: bool = False,
    final: bool = False,
    what: str = "",
) -> str:
    """End this claim of a failed grading: queued again with a growing delay, or not gradable.

    Given up when the failure cannot change by retrying (final), after GRADING_MAX_INFRA_RETRIES
    grader failures, or once the submission has had GRADING_MAX_ATTEMPTS claims.
    """
    from submissions import tasks

    held = Submission.objects.filter(pk=submission_id, claim_token=token, status=Submission.Status.RUNNING)
    row = held.values("infra_failures", "grading_attempts").first()
    if row is None:
        return "discarded: lease lost"  # someone else owns the row now; theirs is the outcome
    failures = row["infra_failures"] + (1 if infrastructure else 0)
    attempts = row["grading_attempts"]
    give_up = (
        final
        or attempts >= settings.GRADING_MAX_ATTEMPTS
        or (infrastructure and failures >= settings.GRADING_MAX_INFRA_RETRIES)
    )
    if give_up:
        what = what or ("the grader crashed" if crash else "the grader failed")
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        problem = f"Not gradable: {what}{tries} ({reason}). {NOT_COUNTED}"
    else:
        problem = f"The grader failed ({reason}); retrying automatically."
    delay = settings.GRADING_RETRY_DELAY_S * (failures if infrastructure else attempts)
    # A retry joins its queue when its delay is over: it waits behind what was queued before then.
    back_in_line = timezone.now() + timedelta(seconds=0 if give_up else delay)
    updated = held.update(
        status=Submission.Status.NOT_GRADABLE if give_up else Submission.Status.QUEUED,
        infra_failures=failures,
        problem=problem,
        lease_expires_at=None,
        claim_token="",
        queue="grading",
        enqueued_at=back_in_line,
    )
    if not updated:
        return "discarded: lease lost"
    if give_up:
        logger.warning("submission %s not gradable: %s", submission_id, problem)
        return "not gradable"
    tasks.grade_submission.apply_async((submission_id,), queue="grading", countdown=delay)
    return "retry scheduled"


def submission_recheck(*, submission: Submission) -> bool:
    """Re-evaluate the stored run record with the current checks; False if there is none."""
    return submissions_recheck(submission_ids=[submission.pk]) == 1


def submissions_recheck(*, submission_ids: list[int], job_id: int | None = None) -> int:
    """Re-evaluate stored run records with the current checks, RECHECK_BATCH_SIZE at a time.

    Per batch: one read of the rows (record and assignment), the checks evaluated in
    memory, then one transaction that writes the scores and outcomes in bulk and moves
    the job's progress on. A record that cannot be re-checked makes its submission not
    gradable with the reason (re-executing it, or a re-check after a fix, mends it);
    the others go on. Returns how many were re-checked.
    """
    # (spec, package version) -> Assignment.definition(), loaded once per job message
    definitions: dict[tuple[str, int | None], tuple] = {}
    rechecked = 0
    size = max(1, settings.RECHECK_BATCH_SIZE)
    for start in range(0, len(submission_ids), size):
        batch = submission_ids[start : start + size]
        try:
            rechecked += _recheck_batch(batch, definitions, job_id)
        except Exception:  # noqa: BLE001 - one failed batch must not stop the job's other batches
            logger.exception("re-check of submissions %s..%s failed", batch[0], batch[-1])
            if job_id is not None:
                bulk_job_advance(job_id=job_id, by=len(batch))
    return rechecked


# A re-check only touches what no worker is grading: a re-execution's own result wins.
SETTLED = (Submission.Status.GRADED, Submission.Status.NOT_GRADABLE)


def _recheck_batch(batch: list[int], definitions: dict[tuple[str, int | None], tuple], job_id: int | None) -> int:
    rows = (
        Submission.objects.filter(pk__in=batch, status__in=SETTLED)
        .exclude(run_record=None)
        .select_related("assignment")
        .only("pk", "times_graded", "run_record", "assignment__spec", "assignment__package_version")
    )
    evaluated: dict[int, tuple[int, list]] = {}  # pk -> (times_graded when read, check results)
    failed: dict[int, tuple[int, str]] = {}  # pk -> (times_graded when read, problem)
    versions: dict[int, int | None] = {}  # pk -> the package version it is re-checked with
    # The records of one definition go to its checks' sandbox together: one fork, not one each.
    groups: dict[tuple[str, int | None], list[tuple[Submission, RunRecord]]] = {}
    for submission in rows:  # one query: the batch is the chunk
        key = (submission.assignment.spec, submission.assignment.package_version_id)
        if key not in definitions:
            definitions[key] = submission.assignment.definition()
        definition, problem = definitions[key]
        versions[submission.pk] = key[1]
        if definition is None:
            failed[submission.pk] = (submission.times_graded, f"Not gradable: {problem[0].lower()}{problem[1:]}.")
            continue
        try:
            groups.setdefault(key, []).append((submission, RunRecord.from_dict(submission.run_record)))
        except Exception as error:  # noqa: BLE001 - a corrupt or unreadable record: this submission only
            failed[submission.pk] = (
                submission.times_graded,
                f"Not gradable: its stored run record cannot be re-checked ({_describe(error)}). "
                "Staff can re-execute it. This does not count as an attempt.",
            )
    for key, members in groups.items():
        # A checks sandbox that fails is ours: it raises, and the batch keeps its scores.
        results = evaluate_many([record for _, record in members], definitions[key][0])
        for (submission, _), checks in zip(members, results, strict=True):
            evaluated[submission.pk] = (submission.times_graded, checks)
    with transaction.atomic():
        # Written only where nobody graded or claimed the row since it was read (locked
        # until the end of the transaction on PostgreSQL; SQLite writes one at a time).
        unchanged = dict(
            Submission.objects.select_for_update()
            .filter(pk__in=[*evaluated, *failed], status__in=SETTLED)
            .values_list("pk", "times_graded")
        )
        done = [pk for pk, (times, _) in evaluated.items() if unchanged.get(pk) == times]
        # Scores repeat (a lab has a handful of possible totals): one UPDATE per distinct
        # (score, max) pair, far cheaper than one CASE per row (bulk_update).
        by_score: dict[tuple[int, int, int | None], list[int]] = {}
        for pk in done:
            results = evaluated[pk][1]
            totals = (sum(r.points for r in results), sum(r.max_points for r in results), versions[pk])
            by_score.setdefault(totals, []).append(pk)
        for (score, max_score, version), pks in by_score.items():
            Submission.objects.filter(pk__in=pks).update(
                score=score,
                max_score=max_score,
                package_version_id=version,
                # A readable record is a real run of this submission: one that was not gradable
                # (a record a past re-check could not read, a re-execution that failed after an
                # earlier run) is graded again from it.
                status=Submission.Status.GRADED,
                problem="",
            )
        broken = [pk for pk, (times, _) in failed.items() if unchanged.get(pk) == times]
        for pk in broken:
            Submission.objects.filter(pk=pk).update(
                status=Submission.Status.NOT_GRADABLE, score=None, max_score=None, problem=failed[pk][1]
            )
        CheckOutcome.objects.filter(submission_id__in=[*done, *broken]).delete()
        CheckOutcome.objects.bulk_create(
            [outcome for pk in done for outcome in _outcomes(pk, evaluated[pk][1])], batch_size=1000
        )
        if job_id is not None:
            bulk_job_advance(job_id=job_id, by=len(batch))
    for pk in broken:
        logger.warning("submission %s not gradable on re-check: %s", pk, failed[pk][1])
    return len(done)


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
    """Re-check or re-execute many submissions on the admin queue, with progress (done of total).

    A re-check sends the ids RECHECK_TASK_SIZE to a message (submissions_recheck works
    through them in batches); a re-execution sends one message per submission, as each
    one runs a script.
    """
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
        if kind == BulkJob.Kind.RECHECK:
            size = max(1, settings.RECHECK_TASK_SIZE)
            for start in range(0, len(ids), size):
                chunk = ids[start : start + size]
                transaction.on_commit(
                    lambda chunk=chunk: tasks.recheck_submissions.apply_async((chunk, job.pk), queue="admin"),
                    robust=True,
                )
            return job
        # Queued at once on the admin queue, so students see it, with a fresh allowance of
        # attempts and grader retries; the normal claim then makes a duplicated message harmless.
        Submission.objects.filter(pk__in=ids).update(
            status=Submission.Status.QUEUED,
            infra_failures=0,
            grading_attempts=0,
            problem="",
            queue="admin",
            enqueued_at=timezone.now(),
        )
        for submission_id in ids:
            transaction.on_commit(
                lambda sid=submission_id: tasks.reexecute_submission.apply_async((sid, job.pk), queue="admin"),
                robust=True,
            )
    return job


def bulk_job_advance(*, job_id: int, by: int = 1) -> None:
    BulkJob.objects.filter(pk=job_id).update(done=F("done") + by)
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

    A duplicate message is harmless: the claim lets only one delivery grade. A row whose
    worker died on each of its GRADING_MAX_ATTEMPTS claims (killed by the hard time limit,
    say, which runs no handler) is not sent again: it ends not gradable.
    """
    from submissions import tasks

    now = now or timezone.now()
    expired = Submission.objects.filter(status=Submission.Status.RUNNING, lease_expires_at__lt=now)
    spent = list(
        expired.filter(grading_attempts__gte=settings.GRADING_MAX_ATTEMPTS).values_list("pk", "grading_attempts")
    )
    for submission_id, attempts in spent:
        problem = (
            f"Not gradable: the grader never finished it in {attempts} attempts (its worker stopped each time, "
            f"for instance at the {settings.CELERY_TASK_TIME_LIMIT} s time limit). {NOT_COUNTED}"
        )
        ended = expired.filter(pk=submission_id).update(
            status=Submission.Status.NOT_GRADABLE, problem=problem, lease_expires_at=None, claim_token=""
        )
        if ended:
            logger.warning("submission %s not gradable: %s", submission_id, problem)
    retry = list(expired.filter(grading_attempts__lt=settings.GRADING_MAX_ATTEMPTS).values_list("pk", flat=True))
    # Queued longer than a lease without being claimed, while the broker has
    # nothing left to deliver: the message was lost (say, Redis restarted
    # without persistence). While a backlog drains, a long wait is just a queue.
    overdue = Submission.objects.filter(status=Submission.Status.QUEUED, enqueued_at__lt=now - lease_duration())
    lost = list(overdue.values_list("pk", flat=True)) if broker_backlog("grading") == 0 else []
    expired.filter(pk__in=retry).update(
        status=Submission.Status.QUEUED, enqueued_at=now, claim_token="", queue="grading"
    )
    Submission.objects.filter(pk__in=lost).update(enqueued_at=now, queue="grading")
    for submission_id in retry + lost:
        tasks.grade_submission.apply_async((submission_id,), queue="grading")
    return len(retry) + len(lost)
