from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from engine import assignments as engine_assignments
from engine import package_store


def validate_assignment_definition(spec: str) -> None:
    """An assignment must name a definition that loads (assignments/<spec>/assignment.toml): without one
    nothing can be graded, and every submission to it would end not gradable."""
    try:
        engine_assignments.load(spec)
    except engine_assignments.UnknownAssignment:
        available = ", ".join(engine_assignments.available())
        raise ValidationError(
            f"There is no assignment package {spec!r} (assignments/{spec}/assignment.toml); available: {available}.",
            code="unknown_assignment",
        ) from None
    except (ValueError, KeyError, TypeError) as error:  # the file is there but is not a valid definition
        raise ValidationError(
            f"The assignment definition {spec!r} cannot be loaded: {error}", code="invalid_assignment"
        ) from None


class Course(models.Model):
    name = models.CharField(max_length=200)
    code = models.SlugField(unique=True)
    instructors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="courses_taught", blank=True)
    students = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="courses_taken", blank=True)

    def __str__(self) -> str:
        return self.name


class PackageVersion(models.Model):
    """One upload of an assignment package to a course: its .zip bytes, kept for ever.

    The bytes live in the database so that a worker on any machine can grade with
    them (engine.package_store extracts them once per sha256). A course's assignment
    grades with the version it points to (Assignment.package_version).
    """

    class Status(models.TextChoices):
        VALIDATING = "validating", "Validating"
        VALID = "valid", "Valid: ready to publish"
        INVALID = "invalid", "Refused"
        PUBLISHED = "published", "Published"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="package_versions")
    slug = models.SlugField(max_length=100)
    number = models.PositiveIntegerField()  # 1..n per course and slug
    title = models.CharField(max_length=200)
    archive = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    # None: published from the command line (manage.py assignment publish).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.VALIDATING)
    # When its validation message was sent, and when a worker began on it: the sweep sends
    # again what no worker began (a lost message) or what a killed worker left.
    sent_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)  # solutions and examples graded so far
    total = models.PositiveIntegerField(default=0)
    # The validation's outcome, as `manage.py assignment validate --json` prints it.
    report = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)  # why it was refused
    published_at = models.DateTimeField(null=True, blank=True)  # when first made an assignment's current version
    # Which stored scores publishing it would change (packages.preview_as_stored), computed
    # by a worker: the checks run in a sandbox only the grading hosts can make. None: not yet.
    preview = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["course", "slug", "-number"]
        constraints = [models.UniqueConstraint(fields=["course", "slug", "number"], name="unique_package_version")]

    def __str__(self) -> str:
        return f"{self.course.code}: {self.slug} v{self.number}"

    @property
    def finished(self) -> bool:
        return self.status != self.Status.VALIDATING

    def engine_assignment(self) -> engine_assignments.Assignment:
        # The bytes are read from the database only by a worker that has not extracted them yet.
        return package_store.load(
            self.sha256, lambda: bytes(PackageVersion.objects.values_list("archive", flat=True).get(pk=self.pk))
        )


class Assignment(models.Model):
    class Counting(models.TextChoices):
        LATEST = "latest", "Latest submission"
        BEST = "best", "Best submission"

    class LatePolicy(models.TextChoices):
        HARD = "hard", "Hard cutoff: no submissions after the deadline"
        PENALTY = "penalty", "Penalty: late submissions lose a share of the points"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    # Validated on every full_clean() (the admin, any model form that edits it; see clean_fields()): a spec
    # with no definition cannot be saved. A definition deleted later is survived: see definition().
    spec = models.CharField(
        max_length=100,
        help_text="The assignment package (assignments/<slug>/assignment.toml), unless a version is published",
    )
    # The published package version it grades with; none: the package in the repository named by spec.
    # SET_NULL, not PROTECT: deleting the course deletes both (Django's PROTECT check does not see
    # the submissions it fast-deletes); versions are never deleted otherwise.
    package_version = models.ForeignKey(
        PackageVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="current_for"
    )
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    late_policy = models.CharField(max_length=10, choices=LatePolicy.choices, default=LatePolicy.PENALTY)
    late_penalty_percent = models.PositiveSmallIntegerField(
        default=20, help_text="Share of the maximum score lost when late"
    )
    counting = models.CharField(max_length=10, choices=Counting.choices, default=Counting.BEST)
    max_submissions = models.PositiveIntegerField(null=True, blank=True, help_text="Per student; empty: no limit")
    max_per_hour = models.PositiveIntegerField(
        default=20, null=True, blank=True, help_text="Per student; empty: no limit"
    )

    class Meta:
        ordering = ["deadline", "id"]

    def __str__(self) -> str:
        return f"{self.course.code}: {self.title}"

    def clean_fields(self, exclude=None) -> None:
        # As a validator of spec would, except that a published version is the definition then.
        errors: dict = {}
        try:
            super().clean_fields(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if self.package_version_id is None and "spec" not in (exclude or ()) and "spec" not in errors:
            try:
                validate_assignment_definition(self.spec)
            except ValidationError as error:
                errors["spec"] = error.messages
        if errors:
            raise ValidationError(errors)

    def engine_assignment(self) -> engine_assignments.Assignment:
        if self.package_version_id is not None:
            return PackageVersion.objects.defer("archive").get(pk=self.package_version_id).engine_assignment()
        return engine_assignments.load(self.spec)

    def definition(self) -> tuple[engine_assignments.Assignment | None, str]:
        """(the engine's definition, "") or (None, why it cannot be loaded): for the pages, which
        must not fail when the TOML file was deleted or broken after the assignment was saved."""
        try:
            return self.engine_assignment(), ""
        except (engine_assignments.UnknownAssignment, ValueError, KeyError, TypeError) as error:
            return None, f"The assignment definition {self.spec!r} cannot be loaded: {error}"

    def is_late(self, at: datetime) -> bool:
        # Read from the deadline as it is now, never stored with a submission:
        # moving the deadline moves every submission's lateness with it.
        return self.deadline is not None and at > self.deadline

    def late_penalty(self, max_score: int) -> int:
        return round(max_score * self.late_penalty_percent / 100)


@dataclass(frozen=True)
class CountedScore:
    """What one submission is worth now, and why: the rule for late work and overrides.

    Every reader (the student's page, the status JSON, the gradebook, the CSV) takes the
    score from here, so a change of deadline, policy or override shows everywhere at once.
    """

    score: int | None  # what the gradebook counts; None: nothing (not graded yet, or cut off)
    checks_score: int | None  # what the checks gave
    max_score: int | None
    late: bool
    penalty: int = 0  # points the late penalty took
    penalty_percent: int = 0
    cut_off: bool = False  # late under a hard cutoff: does not count
    override: ScoreOverride | None = None


class Submission(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        GRADED = "graded", "Graded"
        NOT_GRADABLE = "not_gradable", "Not gradable"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    entry_point = models.CharField(max_length=255)
    score = models.IntegerField(null=True, blank=True)
    max_score = models.IntegerField(null=True, blank=True)
    run_record = models.JSONField(null=True, blank=True)
    # Why it is not graded yet (a grader failure being retried) or not gradable.
    problem = models.TextField(blank=True)
    infra_failures = models.PositiveSmallIntegerField(default=0)
    # Every claim counts one: whatever keeps failing (a bug, a worker killed each time)
    # ends not gradable after GRADING_MAX_ATTEMPTS instead of being sent again for ever.
    grading_attempts = models.PositiveSmallIntegerField(default=0)
    # The broker queue its message waits on: live work on "grading", admin re-runs on "admin".
    queue = models.CharField(max_length=20, default="grading")
    # A worker claims the row with a token and a lease; a redelivered message
    # finds it claimed, and the sweep re-queues it only once the lease expired.
    claim_token = models.CharField(max_length=36, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    times_graded = models.PositiveIntegerField(default=0)
    # The package version whose checks gave the score (none: the repository's package).
    package_version = models.ForeignKey(
        PackageVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["assignment", "student"]),
            models.Index(fields=["status", "queue", "enqueued_at"], name="submission_queue_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.student} {self.assignment.title}"

    @property
    def is_late(self) -> bool:
        return self.assignment.is_late(self.created_at)

    @property
    def current_override(self) -> ScoreOverride | None:
        """The override in force: the newest entry of the history, unless that entry is a removal."""
        # Read from the (often prefetched) history in Python rather than with a new query.
        history = list(self.overrides.all())
        newest = max(history, key=lambda o: (o.created_at, o.pk)) if history else None
        return newest if newest is not None and not newest.is_removal else None

    def override_ceiling(self) -> int:
        """The highest score an override may give: what the checks could give at most."""
        if self.max_score is not None:
            return self.max_score
        definition, _ = self.assignment.definition()  # not graded yet: the assignment's maximum
        return definition.max_score if definition is not None else 0

    def counted(self) -> CountedScore:
        """The one rule (docs/service.md): an override wins; else late work under a penalty
        loses its share of the maximum, and late work under a hard cutoff does not count."""
        assignment = self.assignment
        late = self.is_late
        override = self.current_override
        common = {"checks_score": self.score, "max_score": self.max_score, "late": late}
        if override is not None:
            # An instructor's decision about this very submission (say, an extension) wins over any policy.
            return CountedScore(score=override.score, override=override, **common)
        if self.score is None or not late:
            return CountedScore(score=self.score, **common)
        if assignment.late_policy == Assignment.LatePolicy.HARD:
            return CountedScore(score=None, cut_off=True, **common)
        penalty = min(self.score, assignment.late_penalty(self.max_score or 0))
        return CountedScore(
            score=self.score - penalty, penalty=penalty, penalty_percent=assignment.late_penalty_percent, **common
        )

    def counted_score(self) -> int | None:
        """The score that enters the gradebook (see counted())."""
        return self.counted().score


class SubmissionFile(models.Model):
    """Files live in the database so that a worker on another machine can read them."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["submission", "name"], name="unique_file_name")]

    @property
    def size(self) -> int:
        return len(self.content)

    def text(self) -> str:
        return bytes(self.content).decode("utf-8", "replace")


class CheckOutcome(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="outcomes")
    position = models.PositiveSmallIntegerField()
    check_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    passed = models.BooleanField()
    points = models.IntegerField()
    max_points = models.IntegerField()
    feedback = models.TextField()
    error = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]


class ScoreOverride(models.Model):
    """A manual score, kept as history: the newest entry decides.

    Entries are never edited or deleted; removing an override adds an entry without a
    score, so the history says who set what, and who removed it, when and why.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="overrides")
    score = models.IntegerField(null=True, blank=True, help_text="Empty: the override was removed")
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=0), name="override_score_not_negative"
            )
        ]

    @property
    def is_removal(self) -> bool:
        return self.score is None

    def clean(self) -> None:
        # Also what the admin's forms run, so no path stores "15/10".
        errors = {}
        if self.score is not None and self.submission_id is not None:
            ceiling = self.submission.override_ceiling()
            if not 0 <= self.score <= ceiling:
                errors["score"] = f"the score must be between 0 and {ceiling}."
        if self.score is not None and not self.reason.strip():
            errors["reason"] = "an override needs a reason."
        if errors:
            raise ValidationError(errors)


class BulkJob(models.Model):
    """An admin's re-check or re-execution of many submissions, with progress."""

    class Kind(models.TextChoices):
        RECHECK = "recheck", "Re-run checks"
        REEXECUTE = "reexecute", "Re-execute scripts"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    description = models.CharField(max_length=300)
    total = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.done >= self.total
