"""The instructor's pages for assignment packages: upload, watch the validation, publish.

Thin over submissions.packages; only the course's instructors and staff (selectors.teaches).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from submissions import packages, selectors
from submissions.forms import PackageUploadForm
from submissions.models import Course, PackageVersion


# As in views.py: what a user may not see answers 404, what they see but may not do 403.
def _course_taught_by(user, pk: int) -> Course:
    course = get_object_or_404(Course, pk=pk)
    if not selectors.visible_courses(user).filter(pk=pk).exists():
        raise Http404
    if not selectors.teaches(user, course):
        raise PermissionDenied
    return course


def _version_for(user, pk: int) -> PackageVersion:
    version = get_object_or_404(PackageVersion.objects.defer("archive").select_related("course"), pk=pk)
    _course_taught_by(user, version.course_id)
    return version


@login_required
def course_packages(request, pk: int):
    course = _course_taught_by(request.user, pk)
    form = PackageUploadForm(request.POST, request.FILES) if request.method == "POST" else PackageUploadForm()
    if form.is_bound and form.is_valid():
        try:
            version = packages.package_upload(course=course, data=form.cleaned_data["package"].read(), by=request.user)
        except packages.PackageRefused as error:
            form.add_error("package", f"Not a package that can be published: {error}")
        else:
            return redirect("package_version", pk=version.pk)
    versions = course.package_versions.defer("archive").select_related("uploaded_by")
    current = set(course.assignments.values_list("package_version_id", flat=True))
    status = 400 if request.method == "POST" else 200
    context = {"course": course, "form": form, "versions": versions, "current": current}
    return render(request, "submissions/packages.html", context, status=status)


@login_required
def package_version(request, pk: int):
    version = _version_for(request.user, pk)
    publishable = version.status in (PackageVersion.Status.VALID, PackageVersion.Status.PUBLISHED)
    preview, preview_problem = packages.stored_preview(version) if publishable else (None, "")
    context = {
        "version": version,
        "publishable": publishable,
        "preview": preview,
        "preview_problem": preview_problem,
        "preview_at": _when((version.preview or {}).get("computed_at")),
        "current_for": version.current_for.first(),
        # The page polls until the validation and then the preview are done.
        "settled": version.finished and (not publishable or version.preview is not None),
    }
    return render(request, "submissions/package_version.html", context)


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


@login_required
@require_POST
def package_preview_refresh(request, pk: int):
    packages.preview_refresh(version=_version_for(request.user, pk))
    return redirect("package_version", pk=pk)


@login_required
def package_version_status(request, pk: int):
    return JsonResponse(packages.status_payload(_version_for(request.user, pk)))


@login_required
@require_POST
def package_publish(request, pk: int):
    version = _version_for(request.user, pk)
    try:
        published = packages.package_publish(version=version, by=request.user, background=True)
    except packages.PackageRefused as error:
        messages.error(request, f"Not published: {error}.")
        return redirect("package_version", pk=pk)
    rechecked = f" {published.rechecked} submissions are being re-checked." if published.rechecked else ""
    messages.success(request, f"Published version {version.number} of {version.slug}.{rechecked}")
    return redirect("package_version", pk=pk)
