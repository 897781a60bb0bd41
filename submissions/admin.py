from django.contrib import admin, messages
from django.shortcuts import redirect

from submissions import services
from submissions.models import Assignment, BulkJob, CheckOutcome, Course, ScoreOverride, Submission, SubmissionFile


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
    model = ScoreOverride
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    filter_horizontal = ("instructors", "students")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "spec", "deadline", "late_policy", "counting")
    list_filter = ("course",)
    actions = [recheck_assignments, reexecute_assignments]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "student", "assignment", "status", "score", "max_score", "is_late", "created_at")
    list_filter = ("status", "assignment", "is_late")
    search_fields = ("student__username",)
    readonly_fields = ("run_record", "claim_token", "lease_expires_at", "times_graded")
    inlines = [InlineOutcome, InlineOverride, InlineFile]
    actions = [recheck_submissions, reexecute_submissions]


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


admin.site.register(ScoreOverride)
admin.site.register(CheckOutcome)
