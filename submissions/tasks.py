"""Celery tasks: load by id, call the service. Nothing else lives here."""

from celery import shared_task

from submissions import services
from submissions.models import Submission


@shared_task(ignore_result=True)
def grade_submission(submission_id: int) -> str:
    return services.submission_grade(submission_id=submission_id)


@shared_task(ignore_result=True)
def recheck_submission(submission_id: int, job_id: int) -> None:
    try:
        submission = Submission.objects.select_related("assignment").get(pk=submission_id)
        services.submission_recheck(submission=submission)
    finally:
        services.bulk_job_advance(job_id=job_id)


@shared_task(ignore_result=True)
def reexecute_submission(submission_id: int, job_id: int) -> None:
    try:
        services.submission_grade(submission_id=submission_id)
    finally:
        services.bulk_job_advance(job_id=job_id)


@shared_task(ignore_result=True)
def sweep_stuck() -> int:
    return services.sweep_stuck()
