"""Assignment packages published to a course: upload, validate, preview, publish.

Every path (`manage.py assignment publish`, the instructor's pages and their Celery
task) goes through these functions, in this order: package_upload stores the bytes
as a new version (refusing what is not a package), package_validate grades its
solutions and examples through the sandbox (engine.validation), package_preview
says which stored scores its checks would change, and package_publish makes it the
course assignment's current version and re-checks the existing submissions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from engine import package_store
from engine.assignments import Assignment as EngineAssignment
from engine.errors import InfrastructureError
from engine.grading import evaluate_many
from engine.record import RunRecord
from engine.validation import Outcome, PackageError, expectations, validate
from submissions import services
from submissions.models import Assignment, BulkJob, Course, PackageVersion, Submission

logger = logging.getLogger(__name__)
PREVIEW_CHUNK = 200  # stored runs read, and sent to the checks' sandbox, at a time


class PackageRefused(Exception):
    """Not stored, or not published; the message is for the package's author."""


# -- upload ----------------------------------------------------------------------


def package_upload(*, course: Course, data: bytes, by, background: bool = True) -> PackageVersion:
    """Store the bytes as the next version of their slug in the course, to be validated.

    Refused (PackageRefused, nothing stored) when they are not a package whose manifest,
    checks and expected.toml load; background: validated by a worker (tasks.validate_package).
    """
    definition = inspect(data)
    with transaction.atomic():
        # One upload at a time per course, so two of them never take the same number.
        Course.objects.select_for_update().filter(pk=course.pk).first()
        last = PackageVersion.objects.filter(course=course, slug=definition.slug).order_by("-number").first()
        version = PackageVersion.objects.create(
            course=course,
            slug=definition.slug,
            number=(last.number + 1) if last else 1,
            title=definition.title,
            archive=data,
            sha256=package_store.sha256_of(data),
            uploaded_by=by,
            total=len(expectations(definition)),
            sent_at=timezone.now() if background else None,
        )
        if background:
            transaction.on_commit(lambda: _send(version.pk), robust=True)
    return version


def _send(version_id: int) -> None:
    from submissions import tasks

    tasks.validate_package.apply_async((version_id,), queue="admin")


def inspect(data: bytes) -> EngineAssignment:
    """The package's definition, or PackageRefused saying what keeps it from being one."""
    try:
        definition = package_store.load_archive(data)
        expectations(definition)  # a wrong expected.toml is caught now, not after the grading
        validate_slug(definition.slug)
    except (package_store.PackageRejected, PackageError) as error:
        raise PackageRefused(str(error).replace(str(_folder_of(data)), "the package")) from None
    except ValidationError:
        raise PackageRefused(
            f"the manifest's slug {definition.slug!r} must be letters, digits, hyphens and underscores"
        ) from None
    return definition


def _folder_of(data: bytes):
    return package_store.cache_dir() / package_store.sha256_of(data)


# -- validation ------------------------------------------------------------------


def package_validate(
    *, version_id: int, jobs: int | None = None, progress: Callable[[int, int, Outcome], None] | None = None
) -> PackageVersion:
    """Grade the version's solutions and examples; it ends VALID or INVALID with the reason.

    Only a version still VALIDATING is graded, and only the first run to finish writes
    the outcome: a redelivered message changes nothing.
    """
    version = PackageVersion.objects.get(pk=version_id)
    if version.status != PackageVersion.Status.VALIDATING:
        return version
    PackageVersion.objects.filter(pk=version_id).update(started_at=timezone.now())
    try:
        definition = version.engine_assignment()
        outcomes = validate(
            definition, jobs=jobs or settings.PACKAGE_VALIDATION_JOBS, progress=_progress(version, progress)
        )
    except Exception as error:  # noqa: BLE001 - whatever it was, the version must not stay VALIDATING
        logger.exception("validating package version %s failed", version_id)
        reason = f"the validation did not finish ({type(error).__name__}: {error}); upload the package again"
        _finish(version, PackageVersion.Status.INVALID, None, reason)
    else:
        report = validation_report(definition, outcomes)
        status = PackageVersion.Status.VALID if report["valid"] else PackageVersion.Status.INVALID
        _finish(version, status, report, refusal(report))
        if report["valid"]:
            preview_store(version_id=version_id)
    version.refresh_from_db()
    return version


def _progress(version: PackageVersion, also: Callable[[int, int, Outcome], None] | None):
    def advance(done: int, total: int, outcome: Outcome) -> None:
        PackageVersion.objects.filter(pk=version.pk).update(done=done, total=total)
        if also is not None:
            also(done, total, outcome)

    return advance


def _finish(version: PackageVersion, status: str, report: dict | None, reason: str) -> None:
    PackageVersion.objects.filter(pk=version.pk, status=PackageVersion.Status.VALIDATING).update(
        status=status, report=report, reason=reason
    )


def validation_report(definition: EngineAssignment, outcomes: list[Outcome]) -> dict:
    """What `assignment validate --json` prints, and what a version keeps."""
    return {
        "assignment": definition.slug,
        "title": definition.title,
        "max_score": definition.max_score,
        "valid": all(o.ok for o in outcomes),
        "results": [
            {
                "kind": o.expectation.kind,
                "path": o.expectation.path.name,
                "expected_fails": sorted(o.expectation.fails),
                "failed": None if o.got_fails is None else sorted(o.got_fails),
                "score": o.report.score if o.report else None,
                "max_score": o.report.max_score if o.report else None,
                "problems": o.problems,
                "feedback": {c.id: c.feedback for c in o.report.checks} if o.report else {},
            }
            for o in outcomes
        ],
    }


def refusal(report: dict) -> str:
    """Why a package is refused, one line per script that did not grade as declared; "" if valid."""
    return "\n".join(
        f"{r['kind']}s/{r['path']}: {'; '.join(r['problems'])}" for r in report["results"] if r["problems"]
    )


def _fails(checks) -> str:
    return ", ".join(sorted(checks)) or "nothing (full marks)"


def report_table(report: dict) -> str:
    """The report as the CLI prints it: per script, what it was declared to fail and what it failed."""
    lines = [f"{report['assignment']}: {report['title']} ({report['max_score']} points)"]
    for result in report["results"]:
        score = f"{result['score']}/{result['max_score']}" if result["score"] is not None else "-"
        lines.append(
            f"{'ok     ' if not result['problems'] else 'DIFFERS'} {result['kind']}s/{result['path']}  {score}"
        )
        lines.append(f"        expected to fail: {_fails(result['expected_fails'])}")
        if result["failed"] is not None:
            lines.append(f"        failed:           {_fails(result['failed'])}")
        lines += [f"        - {problem}" for problem in result["problems"]]
    good = sum(not r["problems"] for r in report["results"])
    verdict = "valid" if report["valid"] else "NOT valid"
    lines.append(f"{good} of {len(report['results'])} graded as declared: the package is {verdict}.")
    return "\n".join(lines)


def validations_sweep(*, now=None) -> int:
    """Send again the validations whose message was lost (no worker began within a lease) or
    whose worker was killed (begun longer ago than the task's hard time limit). Returns how many."""
    now = now or timezone.now()
    hard_limit = timedelta(seconds=settings.PACKAGE_VALIDATION_SOFT_TIME_LIMIT + 30 + settings.GRADING_LEASE_MARGIN_S)
    lost = Q(started_at=None, sent_at__lt=now - services.lease_duration()) | Q(started_at__lt=now - hard_limit)
    # While the admin queue has a backlog, a long wait is just a queue (as for submissions).
    if services.broker_backlog("admin"):
        return 0
    stuck = list(
        PackageVersion.objects.filter(lost, status=PackageVersion.Status.VALIDATING).values_list("pk", flat=True)
    )
    for version_id in stuck:
        PackageVersion.objects.filter(pk=version_id).update(sent_at=now, started_at=None, done=0)
        _send(version_id)
    return len(stuck)


def status_payload(version: PackageVersion) -> dict:
    """What the version's page polls while it is validated."""
    return {
        "id": version.pk,
        "status": version.status,
        "status_label": version.get_status_display(),
        "done": version.done,
        "total": version.total,
        "finished": version.finished,
        "reason": version.reason,
        "preview_ready": version.preview is not None,
    }


# -- preview and publish -----------------------------------------------------------


@dataclass(frozen=True)
class ScoreChange:
    submission_id: int
    student: str
    old: str  # "8/10"; "not gradable"
    new: str
    overridden: bool  # an instructor's override stays in force whatever the checks give


@dataclass(frozen=True)
class Preview:
    assignment: Assignment | None  # the course's assignment it would replace; None: a new one
    submissions: int  # graded submissions whose stored runs are re-checked
    changes: list[ScoreChange]
    # What a re-check of a stored run cannot show: the runs were made with the old stdin, files, limits.
    rerun_advised: list[str]


def preview_store(*, version_id: int) -> None:
    """Compute the version's preview and keep it, for its page (which cannot run checks itself)."""
    version = PackageVersion.objects.get(pk=version_id)
    try:
        stored = preview_as_stored(package_preview(version=version))
    except InfrastructureError as error:
        stored = {"problem": str(error)}
    stored["computed_at"] = timezone.now().isoformat()
    PackageVersion.objects.filter(pk=version_id).update(preview=stored)


def preview_refresh(*, version: PackageVersion) -> None:
    """Forget the kept preview and have a worker compute it again (scores graded since count)."""
    from submissions import tasks

    PackageVersion.objects.filter(pk=version.pk).update(preview=None)
    transaction.on_commit(lambda: tasks.preview_package.apply_async((version.pk,), queue="admin"), robust=True)


def preview_as_stored(preview: Preview) -> dict:
    return {
        "assignment_id": preview.assignment.pk if preview.assignment else None,
        "submissions": preview.submissions,
        "changes": [asdict(change) for change in preview.changes],
        "rerun_advised": preview.rerun_advised,
    }


def stored_preview(version: PackageVersion) -> tuple[Preview | None, str]:
    """(the kept preview, "") or (None, why it could not be computed); (None, "") while it is computed."""
    kept = version.preview
    if kept is None or "problem" in kept:
        return None, (kept or {}).get("problem", "")
    assignment = Assignment.objects.filter(pk=kept["assignment_id"]).first() if kept["assignment_id"] else None
    changes = [ScoreChange(**change) for change in kept["changes"]]
    return Preview(assignment, kept["submissions"], changes, kept["rerun_advised"]), ""


def course_assignment(course: Course, slug: str) -> Assignment | None:
    return course.assignments.filter(spec=slug).order_by("pk").first()


def package_preview(*, version: PackageVersion) -> Preview:
    """The scores that publishing this version would change: each stored run re-checked, nothing saved."""
    assignment = course_assignment(version.course, version.slug)
    if assignment is None:
        return Preview(None, 0, [], [])
    new = version.engine_assignment()
    rows = (
        Submission.objects.filter(assignment=assignment, status__in=services.SETTLED)
        .exclude(run_record=None)
        .select_related("student")
        .prefetch_related("overrides")
        .order_by("student__username", "pk")
    )
    changes, count, chunk = [], 0, []
    for submission in rows.iterator(chunk_size=PREVIEW_CHUNK):
        count += 1
        chunk.append(submission)
        if len(chunk) == PREVIEW_CHUNK:
            changes += _changes(chunk, new)
            chunk = []
    changes += _changes(chunk, new)
    current, _ = assignment.definition()
    return Preview(assignment, count, changes, _rerun_advised(current, new) if count else [])


def _changes(submissions: list[Submission], new: EngineAssignment) -> list[ScoreChange]:
    """The scores the new checks give these stored runs, where they differ (one checks sandbox per chunk)."""
    readable, changes = [], []
    for submission in submissions:
        try:
            readable.append((submission, RunRecord.from_dict(submission.run_record)))
        except Exception as error:  # noqa: BLE001 - a record a re-check cannot read ends not gradable
            changes.append(_change(submission, f"not gradable ({type(error).__name__})"))
    results = evaluate_many([record for _, record in readable], new)
    for (submission, _), checks in zip(readable, results, strict=True):
        changes.append(_change(submission, _score(sum(r.points for r in checks), sum(r.max_points for r in checks))))
    return sorted((c for c in changes if c.old != c.new), key=lambda c: (c.student, c.submission_id))


def _change(submission: Submission, new: str) -> ScoreChange:
    graded = submission.status == Submission.Status.GRADED
    old = _score(submission.score, submission.max_score) if graded else "not gradable"
    return ScoreChange(submission.pk, submission.student.username, old, new, submission.current_override is not None)


def _score(score: int | None, max_score: int | None) -> str:
    return f"{score}/{max_score}"


def _rerun_advised(old: EngineAssignment | None, new: EngineAssignment) -> list[str]:
    if old is None:
        return []
    differs = {
        "the provided files": old.provided_files != new.provided_files,
        "stdin": old.stdin_template != new.stdin_template,
        "the limits": old.limits != new.limits,
        "the services": old.services != new.services,
        "the state probes": old.probes != new.probes,
    }
    return [what for what, changed in differs.items() if changed]


@dataclass(frozen=True)
class Published:
    assignment: Assignment
    created: bool
    rechecked: int  # submissions re-checked now, or queued for it (background)


def package_publish(*, version: PackageVersion, by, background: bool = False) -> Published:
    """Make the version its course assignment's current one, then re-check the existing submissions.

    The assignment (the course's one whose spec is the package's slug) is created from the
    manifest if there is none. background: the re-check runs on the admin queue (a BulkJob).
    """
    if version.status not in (PackageVersion.Status.VALID, PackageVersion.Status.PUBLISHED):
        raise PackageRefused(
            f"version {version.number} is {version.get_status_display().lower()}: it cannot be published"
        )
    definition = version.engine_assignment()
    with transaction.atomic():
        assignment = course_assignment(version.course, version.slug)
        created = assignment is None
        if created:
            assignment = Assignment(course=version.course, spec=version.slug)
        assignment.title = definition.title
        assignment.instructions = definition.instructions
        assignment.package_version = version
        assignment.save()
        PackageVersion.objects.filter(pk=version.pk).update(
            status=PackageVersion.Status.PUBLISHED, published_at=version.published_at or timezone.now()
        )
        ids = list(
            Submission.objects.filter(assignment=assignment, status__in=services.SETTLED)
            .exclude(run_record=None)
            .values_list("pk", flat=True)
        )
        if background and ids:
            services.bulk_job_start(
                kind=BulkJob.Kind.RECHECK,
                submissions=Submission.objects.filter(pk__in=ids),
                description=f"{assignment.title}: version {version.number} published",
                by=by,
                assignment=assignment,
            )
    if not background and ids:
        services.submissions_recheck(submission_ids=ids)
    version.refresh_from_db()
    return Published(assignment, created, len(ids))
