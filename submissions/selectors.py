"""Reads: who may see what, gradebook rows, charts, the timeline of calls."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from engine.record import RunRecord
from submissions.models import Assignment, CheckOutcome, CountedScore, Course, Submission


def is_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.is_staff)


def visible_courses(user) -> QuerySet[Course]:
    if is_admin(user):
        return Course.objects.all()
    return Course.objects.filter(Q(students=user) | Q(instructors=user)).distinct()


def teaches(user, course: Course) -> bool:
    return is_admin(user) or course.instructors.filter(pk=user.pk).exists()


def can_view_submission(user, submission: Submission) -> bool:
    return submission.student_id == user.pk or teaches(user, submission.assignment.course)


def queue_position(submission: Submission) -> int | None:
    """1 = next to be graded. Only meaningful while queued.

    Counts the work ahead of it on its own broker queue only: live submissions wait on
    "grading", admin re-runs on "admin" (each served by its own workers in production), in
    the order they joined the queue (a retry joins when its delay is over).
    """
    if submission.status != Submission.Status.QUEUED:
        return None
    joined = submission.enqueued_at or submission.created_at
    ahead = (
        Submission.objects.filter(status=Submission.Status.QUEUED, queue=submission.queue)
        .annotate(joined=Coalesce("enqueued_at", "created_at"))
        .filter(Q(joined__lt=joined) | Q(joined=joined, pk__lt=submission.pk))
    )
    return ahead.count() + 1


def after_due_check_ids(assignment: Assignment) -> frozenset[str]:
    """The checks the assignment's definition marks visibility = "after_due" (none if it no longer loads)."""
    definition, _ = assignment.definition()
    if definition is None:
        return frozenset()
    return frozenset(c.id for c in definition.checks if c.visibility == "after_due")


def hidden_check_ids(assignment: Assignment, *, now: datetime | None = None) -> frozenset[str]:
    """The checks whose verdicts students may not see yet: the one rule (docs/authoring.md).

    An after_due check is hidden while the deadline is ahead (until it has passed, like
    lateness: at the deadline is still before it), read from the deadline as it is now.
    No deadline: nothing to wait for, so nothing is hidden. A check the definition no
    longer names, or a definition that no longer loads, is shown.
    """
    if assignment.deadline is None or (now or timezone.now()) > assignment.deadline:
        return frozenset()
    return after_due_check_ids(assignment)


@dataclass(frozen=True)
class CheckView:
    """One check of a submission as one viewer may see it: withheld, it carries no verdict at all."""

    check_id: str
    name: str
    withheld: bool = False  # a student's own, before the deadline: the name and when it will show
    hidden_from_students: bool = False  # what staff see: the student does not see this verdict yet
    passed: bool | None = None
    error: bool = False
    points: int | None = None
    max_points: int | None = None
    feedback: str = ""


@dataclass(frozen=True)
class SubmissionView:
    """What one viewer may see of a submission's checks and score.

    Staff see everything; a student, while after_due checks are hidden, sees the other
    checks, their score out of their maximum, and how many points wait for the deadline.
    """

    submission: Submission
    checks: list[CheckView]
    score: int | None  # the score this viewer is shown
    max_score: int | None
    counted: CountedScore | None  # how the score was decided; None when withheld from this viewer
    withholds: bool = False  # some verdicts are withheld from this viewer
    override_withheld: bool = False  # an instructor set the score; it shows with the hidden checks
    hidden_points: int = 0  # the maximum of the checks hidden from students
    hidden_until: datetime | None = None  # when they show (the deadline); None: nothing is hidden
    students_score: int | None = None  # for staff: what the student sees meanwhile
    students_max_score: int | None = None


def _check_view(outcome: CheckOutcome, *, hidden: bool, withheld: bool) -> CheckView:
    if withheld:
        return CheckView(outcome.check_id, outcome.name, withheld=True, hidden_from_students=True)
    return CheckView(
        outcome.check_id,
        outcome.name,
        hidden_from_students=hidden,
        passed=outcome.passed,
        error=outcome.error,
        points=outcome.points,
        max_points=outcome.max_points,
        feedback=outcome.feedback,
    )


def _view(submission: Submission, *, staff: bool, hidden_ids: frozenset[str]) -> SubmissionView:
    counted = submission.counted()
    outcomes = list(submission.outcomes.all())
    hidden = [o for o in outcomes if o.check_id in hidden_ids]
    checks = [
        _check_view(o, hidden=o.check_id in hidden_ids, withheld=not staff and o.check_id in hidden_ids)
        for o in outcomes
    ]
    if not hidden:
        return SubmissionView(submission, checks, counted.score, counted.max_score, counted)
    # The student's score leaves the hidden checks out, points and maximum alike; an override is
    # left out too (it was decided knowing the hidden verdicts), until the deadline.
    students_score = None if counted.checks_score is None else counted.checks_score - sum(o.points for o in hidden)
    students_max = None if counted.max_score is None else counted.max_score - sum(o.max_points for o in hidden)
    common = {
        "hidden_points": sum(o.max_points for o in hidden),
        "hidden_until": submission.assignment.deadline,
        "students_score": students_score,
        "students_max_score": students_max,
    }
    if staff:
        return SubmissionView(submission, checks, counted.score, counted.max_score, counted, **common)
    return SubmissionView(
        submission,
        checks,
        students_score,
        students_max,
        counted=None,
        withholds=True,
        override_withheld=counted.override is not None,
        **common,
    )


def submission_view(*, submission: Submission, viewer=None) -> SubmissionView:
    """The submission as `viewer` may see it; viewer None: as its student does (the safe side)."""
    staff = viewer is not None and teaches(viewer, submission.assignment.course)
    return _view(submission, staff=staff, hidden_ids=hidden_check_ids(submission.assignment))


def student_submissions(*, assignment: Assignment, student) -> list[SubmissionView]:
    """A student's own submissions to an assignment, newest first, as they may see them."""
    mine = (
        Submission.objects.filter(assignment=assignment, student=student)
        .select_related("assignment")  # each row's lateness reads the deadline as it is now
        .prefetch_related("overrides", "outcomes")
    )
    hidden_ids = hidden_check_ids(assignment)
    return [_view(s, staff=False, hidden_ids=hidden_ids) for s in mine]


def status_payload(submission: Submission, *, viewer=None) -> dict:
    """What the live status on a submission's page polls, as `viewer` may see it (None: its student)."""
    view = submission_view(submission=submission, viewer=viewer)
    return {
        "id": submission.pk,
        "status": submission.status,
        "status_label": submission.get_status_display(),
        "queue_position": queue_position(submission),
        "score": view.score,
        "max_score": view.max_score,
        # Points of checks whose verdicts wait for the deadline; 0 when nothing is withheld.
        "hidden_points": view.hidden_points if view.withholds else 0,
        "hidden_until": view.hidden_until.isoformat() if view.withholds else None,
        "problem": submission.problem,
        "finished": submission.status in (Submission.Status.GRADED, Submission.Status.NOT_GRADABLE),
    }


@dataclass
class GradebookRow:
    student: AbstractBaseUser
    counted: Submission | None
    attempts: int
    score: int | None
    late: bool
    checks: dict[str, bool] = field(default_factory=dict)
    overridden: bool = False
    late_not_counted: int = 0  # graded submissions a hard cutoff leaves out


def counted_submission(assignment: Assignment, graded: list[Submission]) -> Submission | None:
    """The best or latest among the submissions that count (late work under a hard cutoff does not)."""
    counting = [s for s in graded if s.counted_score() is not None]
    if not counting:
        return None
    if assignment.counting == Assignment.Counting.LATEST:
        return max(counting, key=lambda s: (s.created_at, s.pk))
    return max(counting, key=lambda s: (s.counted_score(), s.created_at, s.pk))


def gradebook_rows(*, assignment: Assignment, sort: str = "student") -> list[GradebookRow]:
    submissions = (
        Submission.objects.filter(assignment=assignment)
        .exclude(status=Submission.Status.NOT_GRADABLE)
        .select_related("assignment")
        .prefetch_related("outcomes", "overrides")
    )
    by_student: dict[int, list[Submission]] = {}
    for submission in submissions:
        by_student.setdefault(submission.student_id, []).append(submission)
    rows = []
    for student in assignment.course.students.order_by("username"):
        mine = by_student.get(student.pk, [])
        graded = [s for s in mine if s.status == Submission.Status.GRADED]
        counted = counted_submission(assignment, graded)
        rows.append(
            GradebookRow(
                student=student,
                counted=counted,
                attempts=len(mine),
                score=counted.counted_score() if counted else None,
                late=bool(counted and counted.is_late),
                checks={o.check_id: o.passed for o in counted.outcomes.all()} if counted else {},
                overridden=bool(counted and counted.current_override),
                late_not_counted=sum(1 for s in graded if s.counted().cut_off),
            )
        )
    return sort_rows(rows, sort)


SORT_KEYS = {
    "student": lambda r: r.student.username,
    "score": lambda r: (r.score is None, -(r.score or 0), r.student.username),
    "attempts": lambda r: (-r.attempts, r.student.username),
    "late": lambda r: (not (r.late or r.late_not_counted), r.student.username),
}


def sort_rows(rows: list[GradebookRow], sort: str) -> list[GradebookRow]:
    """Sorted by a column; `-column` reverses it, but students with no score stay last."""
    key = SORT_KEYS.get(sort.lstrip("-"), SORT_KEYS["student"])
    ordered = sorted(rows, key=key, reverse=sort.startswith("-"))
    if sort.lstrip("-") == "score":
        ordered = [r for r in ordered if r.score is not None] + [r for r in ordered if r.score is None]
    return ordered


def score_histogram(rows: list[GradebookRow], max_score: int) -> list[tuple[int, int]]:
    """(score, number of students) for every score from 0 to max."""
    counts = {score: 0 for score in range(max_score + 1)}
    for row in rows:
        if row.score is not None:
            counts[min(max(row.score, 0), max_score)] += 1
    return list(counts.items())


@dataclass
class GradebookColumns:
    check_ids: list[str]
    max_score: int
    problem: str = ""  # why the assignment's definition cannot be loaded, for staff


def gradebook_columns(assignment: Assignment, rows: list[GradebookRow]) -> GradebookColumns:
    """The checks and maximum of the assignment's definition; if its TOML file was deleted or
    broken after it was saved, those of the stored outcomes instead, and the reason."""
    definition, problem = assignment.definition()
    if definition is not None:
        return GradebookColumns([c.id for c in definition.checks], definition.max_score)
    check_ids = list(dict.fromkeys(o.check_id for row in rows if row.counted for o in row.counted.outcomes.all()))
    max_score = max((row.counted.max_score or 0 for row in rows if row.counted), default=0)
    return GradebookColumns(check_ids, max_score, problem)


def not_gradable(assignment: Assignment, limit: int = 100) -> list[Submission]:
    """The latest submissions that ended not gradable, with why, for staff to look at and re-run."""
    return list(
        Submission.objects.filter(assignment=assignment, status=Submission.Status.NOT_GRADABLE)
        .select_related("student")
        .only("pk", "problem", "created_at", "student__username")
        .order_by("-created_at", "-pk")[:limit]
    )


def check_pass_rates(
    rows: list[GradebookRow], check_ids: list[str], assignment: Assignment
) -> list[tuple[str, str, float, int]]:
    """(check id, name, share passed, graded count) among counted submissions."""
    definition, _ = assignment.definition()
    graded = [row for row in rows if row.counted]
    rates = []
    for check_id in check_ids:
        name = definition.check_name(check_id) if definition else check_id
        passed = sum(1 for row in graded if row.checks.get(check_id))
        rates.append((check_id, name, passed / len(graded) if graded else 0.0, len(graded)))
    return rates


@dataclass
class TimelineEntry:
    seq: int
    operation: str
    target: str
    ok: bool
    result: str
    changes: list[str]
    details: str
    aws_would_refuse: str | None = None  # moto accepted the call; real S3 would not have
    printed_before: str = ""  # stdout the script wrote since the previous call and before this one


def s3_timeline(run_record: dict | None) -> list[TimelineEntry]:
    """The calls as a student reads them: call, result, what changed, and what was printed in between.

    S3 calls name their bucket and key; another service's calls name the resources
    they named (a table) and show their scalar parameters and item counts."""
    if not run_record:
        return []
    record = RunRecord.from_dict(run_record)
    entries = []
    printed_up_to = 0
    for call in record.calls:
        printed_before = ""
        if call.stdout_before is not None:
            printed_before = record.stdout[printed_up_to : call.stdout_before]
            printed_up_to = max(printed_up_to, call.stdout_before)
        result = str(call.status) + (f" {call.error_code}" if call.error_code else "")
        if call.service != "s3":
            entries.append(_service_entry(call, result, printed_before))
            continue
        target = "/".join(p for p in (call.bucket, call.key) if p) or "(all buckets)"
        details = []
        if "tagging" in call.params:
            details.append("tags " + ", ".join(f"{k}={v}" for k, v in call.params["tagging"].items()))
        if "body_size" in call.params:
            details.append(f"{call.params['body_size']} bytes")
        if call.operation == "RefusedService":
            service = call.params.get("service", "this service")
            details.append(f"{service} is not served in this lab: the call never ran")
        if call.operation == "RefusedRequest":
            details.append(
                f"refused before it ran: {call.params.get('reason', 'the mock could not tell what it asked')}"
            )
        if call.operation == "Unconfirmed":
            answer = call.params.get("root") or "something else"
            details.append(
                f"asked like {call.params.get('named', '?')}, but the answer was {answer}: not counted as one"
            )
        entries.append(
            TimelineEntry(
                call.seq,
                call.operation,
                target,
                call.ok,
                result,
                [_describe_change(c) for c in call.changes],
                "; ".join(details),
                call.aws_would_refuse,
                printed_before,
            )
        )
    return entries


_SHOWN_CHARS = 60
# How the services an assignment's mock serves are named on its pages; others as moto names them.
_SERVICE_NAMES = {"s3": "S3", "dynamodb": "DynamoDB"}


def mock_name(assignment: Assignment) -> str:
    """ "S3", "DynamoDB": what the submission page calls the calls and the mock."""
    definition, _ = assignment.definition()
    services = definition.services if definition else ("s3",)
    return " and ".join(_SERVICE_NAMES.get(s, s) for s in services)


def _service_entry(call, result: str, printed_before: str) -> TimelineEntry:
    named = set(call.resources.values())
    details = []
    for name, value in call.params.items():
        if name == "request_counts" and isinstance(value, dict):
            for table, kinds in value.items():
                details.append(f"{table}: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
        elif isinstance(value, str | int | float | bool) and value not in named:
            details.append(f"{name}={str(value)[:_SHOWN_CHARS]}")
        elif isinstance(value, dict | list) and name not in ("RequestItems",):
            details.append(f"{name}: {_short_json(value)}")
    return TimelineEntry(
        call.seq,
        call.operation,
        ", ".join(call.resources.values()) or f"({call.service})",
        call.ok,
        result,
        _describe_service_changes(call.service_changes),
        "; ".join(details),
        call.aws_would_refuse,
        printed_before,
    )


def _short_json(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _describe_service_changes(changes) -> list[str]:
    """A resource's own changes one by one; its entries (items) counted, or shown when only one changed."""
    lines, written, deleted = [], {}, {}
    for change in changes:
        if change.entry is None:
            if change.value is None:
                lines.append(f"{change.resource} deleted")
            else:
                count = change.value.get("item_count")
                lines.append(f"{change.resource}" + (f" ({count} items)" if count is not None else ""))
        elif change.value is None:
            deleted.setdefault(change.resource, []).append(change)
        else:
            written.setdefault(change.resource, []).append(change)
    for resource, items in written.items():
        if len(items) == 1:
            lines.append(f"{resource}: {_short_json(_plain_item(items[0].value))}")
        else:
            lines.append(f"{resource}: {len(items)} items written")
    lines += [f"{resource}: {len(items)} items deleted" for resource, items in deleted.items()]
    return lines


def _plain_item(item: dict) -> dict:
    """{"qty": {"N": "12"}} -> {"qty": "12"}: what the student wrote."""
    return {k: next(iter(v.values())) if isinstance(v, dict) and len(v) == 1 else v for k, v in item.items()}


def printed_after_last_call(run_record: dict | None) -> str:
    """The stdout that follows the last call, for the interleaved timeline ('' if order is unknown)."""
    if not run_record:
        return ""
    record = RunRecord.from_dict(run_record)
    # From the last call's send: what was printed while it was in flight shows after it.
    positions = [c.stdout_before for c in record.calls if c.stdout_before is not None]
    return record.stdout[max(positions) :] if positions else ""


def _describe_change(change) -> str:
    if change.key is None:
        return f"bucket {change.bucket} {'created' if change.created else 'deleted'}"
    if change.obj is None:
        return f"{change.bucket}/{change.key} deleted"
    tags = ", ".join(f"{k}={v}" for k, v in change.obj.tags.items())
    return f"{change.bucket}/{change.key} = {change.obj.size} bytes" + (f" [{tags}]" if tags else "")
