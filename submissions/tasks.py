"""Celery tasks: load by id, call the service. Nothing else lives here.

A grading that fails ends in the service (submission_grade records every exception
under its claim); a worker that dies mid-task runs no handler, and the sweep ends
those rows after GRADING_MAX_ATTEMPTS claims (services.sweep_stuck).
"""

from celery import shared_task
from django.conf import settings

from submissions import packages, services


@shared_task(ignore_result=True)
def grade_submission(submission_id: int) -> str:
    return services.submission_grade(submission_id=submission_id)


@shared_task(ignore_result=True)
def recheck_submissions(submission_ids: list[int], job_id: int) -> int:
    return services.submissions_recheck(submission_ids=submission_ids, job_id=job_id)


@shared_task(ignore_result=True)
def recheck_submission(submission_id: int, job_id: int) -> int:
    # One-submission messages sent before re-checks went in bulk; still queued during a deploy.
    return services.submissions_recheck(submission_ids=[submission_id], job_id=job_id)


@shared_task(ignore_result=True)
def reexecute_submission(submission_id: int, job_id: int) -> None:
    try:
        services.submission_grade(submission_id=submission_id)
    finally:
        services.bulk_job_advance(job_id=job_id)


@shared_task(ignore_result=True)
def sweep_stuck() -> int:
    return services.sweep_stuck() + packages.validations_sweep()


# Grading a whole package (its solutions and examples) takes longer than one submission.
@shared_task(
    ignore_result=True,
    soft_time_limit=settings.PACKAGE_VALIDATION_SOFT_TIME_LIMIT,
    time_limit=settings.PACKAGE_VALIDATION_SOFT_TIME_LIMIT + 30,
)
def validate_package(version_id: int) -> str:
    return packages.package_validate(version_id=version_id).status


@shared_task(ignore_result=True)
def preview_package(version_id: int) -> None:
    packages.preview_store(version_id=version_id)
