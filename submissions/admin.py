from django.contrib import admin, messages
from django.db.models import F
from django.shortcuts import redirect

from submissions import services
from submissions.models import (
    Assignment,
    BulkJob,
    CheckOutcome,
    Course,
    PackageVersion,
    ScoreOverride,
    Submission,
    SubmissionFile,
)


def _start(request, kind: str, submissions, description: str):
    job = services.bulk_job_start(kind=kind, submissions=submissions, description=description, by=request.user)
    messages.info(request, f"{job.get_kind_display()}: {job.total} submission(s) queued.")
    return redirect("job", pk=job.pk)


@admin.action(description="Re-run checks (no re-execution)")
def recheck_submissions(modeladmin, request, queryset):
    return _start(request, BulkJob.Kind.RECHECK, queryset.exclude(run_record=None), f"{queryset.count()} selected")


@admin.action(description="Re-execute scripts")
def reexecute_submissions(modeladmin, request, queryset):
    return _start(request, BulkJob.Kind.REEXECUTE, queryset, f"{queryset.count()} selected")


@admin.action(description="Re-run checks for every submission of these assignments")
def recheck_assignments(modeladmin, request, queryset):
    subs = Submission.objects.filter(assignment__in=queryset).exclude(run_record=None)
    return _start(request, BulkJob.Kind.RECHECK, subs, ", ".join(a.title for a in queryset))


@admin.action(description="Re-execute every submission of these assignments")
def reexecute_assignments(modeladmin, request, queryset):
    subs = Submission.objects.filter(assignment__in=queryset)
    return _start(request, BulkJob.Kind.REEXECUTE, subs, ", ".join(a.title for a in queryset))


class InlineFile(admin.TabularInline):
    model = SubmissionFile
    fields = ("name",)
    readonly_fields = ("name",)
    extra = 0


class InlineOutcome(admin.TabularInline):
    model = CheckOutcome
    fields = ("check_id", "passed", "points", "max_points", "feedback")
    readonly_fields = fields
    extra = 0


class InlineOverride(admin.TabularInline):
    # History: entries are added (the model bounds the score), never edited or deleted.
    model = ScoreOverride
    extra = 0
    readonly_fields = ("created_at",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class LateFilter(admin.SimpleListFilter):
    """Late against the deadline as it is now (Assignment.is_late, in SQL)."""

    title = "late"
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", "Late"), ("no", "On time")]

    def queryset(self, request, queryset):
        late = {"assignment__deadline__isnull": False, "created_at__gt": F("assignment__deadline")}
        if self.value() == "yes":
            return queryset.filter(**late)
        if self.value() == "no":
            return queryset.exclude(**late)
        return queryset


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    filter_horizontal = ("instructors", "students")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "spec", "package_version", "deadline", "late_policy", "counting")
    list_filter = ("course",)
    # Set by publishing (the course's "Publish a lab" page, or manage.py assignment publish), which re-checks.
    readonly_fields = ("package_version",)
    actions = [recheck_assignments, reexecute_assignments]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "student", "assignment", "status", "score", "max_score", "late", "created_at")
    list_filter = ("status", "assignment", LateFilter)
    search_fields = ("student__username",)
    readonly_fields = (
        "run_record",
        "claim_token",
        "lease_expires_at",
        "times_graded",
        "grading_attempts",
        "infra_failures",
        "queue",
    )
    inlines = [InlineOutcome, InlineOverride, InlineFile]
    actions = [recheck_submissions, reexecute_submissions]

    @admin.display(boolean=True, description="late")
    def late(self, obj: Submission) -> bool:
        return obj.is_late


@admin.register(BulkJob)
class BulkJobAdmin(admin.ModelAdmin):
    list_display = ("kind", "description", "done", "total", "created_by", "created_at", "finished_at")


@admin.register(SubmissionFile)
class SubmissionFileAdmin(admin.ModelAdmin):
    # Shown as text, never served as a file.
    list_display = ("name", "submission")
    fields = ("submission", "name", "source")
    readonly_fields = ("submission", "name", "source")

    @admin.display(description="content")
    def source(self, obj: SubmissionFile) -> str:
        return obj.text()


@admin.register(ScoreOverride)
class ScoreOverrideAdmin(admin.ModelAdmin):
    # The history of a score is kept: entries are added, never edited. (Deleting stays
    # possible, as the admin's deletion of a submission must be able to cascade.)
    list_display = ("submission", "score", "created_by", "created_at", "reason")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PackageVersion)
class PackageVersionAdmin(admin.ModelAdmin):
    # Every version is kept as uploaded: read here, published from the course's pages.
    list_display = ("course", "slug", "number", "status", "uploaded_by", "created_at", "published_at")
    list_filter = ("course", "status")
    exclude = ("archive",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("archive")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.register(CheckOutcome)
