from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from submissions import selectors, services
from submissions.forms import AssignmentSettingsForm, OverrideForm, RerunForm, UploadForm
from submissions.models import Assignment, BulkJob, Submission


# What a user may not see answers 404, exactly as what does not exist, so that ids
# cannot be counted; 403 is for what they see but may not do.
def _assignment_for(user, pk: int) -> Assignment:
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    if not selectors.visible_courses(user).filter(pk=assignment.course_id).exists():
        raise Http404
    return assignment


def _submission_for(user, pk: int) -> Submission:
    submission = get_object_or_404(Submission.objects.select_related("assignment__course", "student"), pk=pk)
    if not selectors.can_view_submission(user, submission):
        raise Http404
    return submission


def _require_teacher(user, assignment: Assignment) -> None:
    if not selectors.teaches(user, assignment.course):
        raise PermissionDenied


def _require_admin(user) -> None:
    if not selectors.is_admin(user):
        raise PermissionDenied


@login_required
def home(request):
    courses = selectors.visible_courses(request.user).prefetch_related("assignments")
    return render(request, "submissions/home.html", {"courses": courses})


@login_required
def assignment_detail(request, pk: int):
    assignment = _assignment_for(request.user, pk)
    return render(
        request,
        "submissions/assignment.html",
        {
            "assignment": assignment,
            "form": UploadForm(),
            "submissions": selectors.student_submissions(assignment=assignment, student=request.user),
            "teaches": selectors.teaches(request.user, assignment.course),
            "is_student": assignment.course.students.filter(pk=request.user.pk).exists(),
        },
    )


@login_required
@require_POST
def submission_upload(request, pk: int):
    # Bodies over MAX_UPLOAD_REQUEST_BYTES never get here (grader/middleware.py).
    assignment = _assignment_for(request.user, pk)
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Upload refused: " + " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("assignment", pk=pk)
    uploads = [(f.name, f.read()) for f in form.cleaned_data["files"]]
    try:
        submission = services.submission_create(
            assignment=assignment, student=request.user, uploads=uploads, entry_point=form.cleaned_data["entry_point"]
        )
    except services.SubmissionRejected as error:
        messages.error(request, f"Upload refused: {error}")
        return redirect("assignment", pk=pk)
    return redirect("submission", pk=submission.pk)


@login_required
def submission_detail(request, pk: int):
    submission = _submission_for(request.user, pk)
    teaches = selectors.teaches(request.user, submission.assignment.course)
    return render(
        request,
        "submissions/submission.html",
        {
            "submission": submission,
            "status": selectors.status_payload(submission, viewer=request.user),
            # The checks and the score as this user may see them (after_due checks: docs/authoring.md).
            "view": selectors.submission_view(submission=submission, viewer=request.user),
            "record": submission.run_record or {},
            "timeline": selectors.s3_timeline(submission.run_record),
            "printed_after_last_call": selectors.printed_after_last_call(submission.run_record),
            "mock_name": selectors.mock_name(submission.assignment),
            "teaches": teaches,
            "is_admin": selectors.is_admin(request.user),
            "files": submission.files.all() if teaches else [],
            "overrides": submission.overrides.select_related("created_by") if teaches else [],
            "override_form": OverrideForm(
                initial={"score": submission.counted_score()}, max_score=submission.override_ceiling()
            ),
        },
    )


@login_required
def submission_status(request, pk: int):
    return JsonResponse(selectors.status_payload(_submission_for(request.user, pk), viewer=request.user))


@login_required
@require_POST
def submission_override(request, pk: int):
    submission = _submission_for(request.user, pk)
    _require_teacher(request.user, submission.assignment)
    form = OverrideForm(request.POST, max_score=submission.override_ceiling())
    if not form.is_valid():
        messages.error(request, "Override refused: " + form.error_text())
        return redirect("submission", pk=pk)
    try:
        services.score_override(submission=submission, by=request.user, **form.cleaned_data)
    except ValidationError as error:  # the submission changed between the form and the write
        messages.error(request, "Override refused: " + " ".join(error.messages))
    else:
        messages.success(request, "Score overridden.")
    return redirect("submission", pk=pk)


@login_required
@require_POST
def submission_override_remove(request, pk: int):
    submission = _submission_for(request.user, pk)
    _require_teacher(request.user, submission.assignment)
    try:
        services.score_override_remove(submission=submission, by=request.user, reason=request.POST.get("reason", ""))
    except services.NoOverride as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Override removed: the checks' score counts again.")
    return redirect("submission", pk=pk)


@login_required
def gradebook(request, pk: int):
    assignment = _assignment_for(request.user, pk)
    _require_teacher(request.user, assignment)
    sort = request.GET.get("sort", "student")
    rows = selectors.gradebook_rows(assignment=assignment, sort=sort)
    columns = selectors.gradebook_columns(assignment, rows)  # survives a deleted assignment definition
    histogram = selectors.score_histogram(rows, columns.max_score)
    return render(
        request,
        "submissions/gradebook.html",
        {
            "assignment": assignment,
            "rows": rows,
            "any_overridden": any(row.overridden for row in rows),
            "sort": sort,
            "check_ids": columns.check_ids,
            "max_score": columns.max_score,
            "definition_problem": columns.problem,
            "not_gradable": selectors.not_gradable(assignment),
            "histogram": histogram,
            "histogram_peak": max((count for _, count in histogram), default=0) or 1,
            "pass_rates": selectors.check_pass_rates(rows, columns.check_ids, assignment),
            "hidden_checks": selectors.hidden_check_ids(assignment),
            "after_due_checks": selectors.after_due_check_ids(assignment),
            "is_admin": selectors.is_admin(request.user),
            "rerun_form": RerunForm(),
        },
    )


@login_required
def assignment_settings(request, pk: int):
    assignment = _assignment_for(request.user, pk)
    _require_teacher(request.user, assignment)
    form = AssignmentSettingsForm(request.POST or None, instance=assignment)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("gradebook", pk=pk)
    return render(request, "submissions/settings.html", {"assignment": assignment, "form": form})


@login_required
def gradebook_csv(request, pk: int):
    assignment = _assignment_for(request.user, pk)
    _require_teacher(request.user, assignment)
    rows = selectors.gradebook_rows(assignment=assignment)
    check_ids = selectors.gradebook_columns(assignment, rows).check_ids
    hidden_ids = selectors.hidden_check_ids(assignment)
    hidden = " ".join(c for c in check_ids if c in hidden_ids)
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="gradebook-{assignment.course.code}-{assignment.pk}.csv"'
    writer = csv.writer(response)
    # late: the counted submission is late; late_not_counted: late work a hard cutoff left out.
    header = ["student", "score", "max_score", "attempts", "late", "late_not_counted", "overridden"]
    # hidden_from_students: the checks whose verdicts students do not see yet (after_due, before the deadline).
    writer.writerow([*header, *check_ids, "submission", "hidden_from_students"])
    for row in rows:
        marks = [("pass" if row.checks.get(c) else "fail") if row.counted else "" for c in check_ids]
        writer.writerow(
            [
                row.student.username,
                "" if row.score is None else row.score,
                row.counted.max_score if row.counted else "",
                row.attempts,
                "yes" if row.late else "no",
                row.late_not_counted,
                "yes" if row.overridden else "no",
                *marks,
                row.counted.pk if row.counted else "",
                hidden,
            ]
        )
    return response


@login_required
@require_POST
def rerun(request, pk: int):
    assignment = _assignment_for(request.user, pk)
    _require_admin(request.user)
    form = RerunForm(request.POST)
    if not form.is_valid():
        raise PermissionDenied
    scope = Submission.objects.filter(assignment=assignment).exclude(status=Submission.Status.QUEUED)
    description = f"{assignment.title}: all submissions"
    if form.cleaned_data["student"]:
        scope = scope.filter(student_id=form.cleaned_data["student"])
        description = f"{assignment.title}: one student's submissions"
    if form.cleaned_data["kind"] == BulkJob.Kind.RECHECK:
        scope = scope.exclude(run_record=None)
    job = services.bulk_job_start(
        kind=form.cleaned_data["kind"],
        submissions=scope,
        description=description,
        by=request.user,
        assignment=assignment,
    )
    return redirect("job", pk=job.pk)


@login_required
@require_POST
def submission_rerun(request, pk: int):
    submission = _submission_for(request.user, pk)
    _require_admin(request.user)
    kind = request.POST.get("kind", BulkJob.Kind.RECHECK)
    if kind not in BulkJob.Kind.values:
        raise PermissionDenied
    job = services.bulk_job_start(
        kind=kind,
        submissions=Submission.objects.filter(pk=pk),
        description=f"Submission #{submission.pk}",
        by=request.user,
        assignment=submission.assignment,
    )
    return redirect("job", pk=job.pk)


@login_required
def job_detail(request, pk: int):
    _require_admin(request.user)
    return render(request, "submissions/job.html", {"job": get_object_or_404(BulkJob, pk=pk)})


@login_required
def job_status(request, pk: int):
    _require_admin(request.user)
    job = get_object_or_404(BulkJob, pk=pk)
    return JsonResponse({"done": job.done, "total": job.total, "finished": job.finished})
