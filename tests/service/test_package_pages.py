"""The instructor's pages for packages: who may use them, uploads refused or stored, validation shown, publish."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from engine import package_store
from submissions import packages, tasks
from submissions.models import PackageVersion
from tests.factories import PASSWORD
from tests.packages import LAB07, trimmed_lab07, zipped

WRONG_DELETE = LAB07 / "examples" / "wrong_no_delete_waiter.py"


@pytest.fixture(autouse=True)
def package_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv(package_store.CACHE_ENV, str(tmp_path_factory.mktemp("package-cache")))


@pytest.fixture
def sent(monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(tasks.validate_package, "apply_async", lambda args, **options: calls.append((args, options)))
    return calls


def as_user(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def post_package(client, world, data: bytes, name: str = "lab07.zip"):
    url = reverse("course_packages", args=[world.course.pk])
    return client.post(url, {"package": SimpleUploadedFile(name, data, content_type="application/zip")})


def stored(world, tmp_path, status=PackageVersion.Status.VALID, **trim) -> PackageVersion:
    data = zipped(trimmed_lab07(tmp_path, **trim))
    version = packages.package_upload(course=world.course, data=data, by=world.ada, background=False)
    PackageVersion.objects.filter(pk=version.pk).update(status=status)
    if status == PackageVersion.Status.VALID:
        packages.preview_store(version_id=version.pk)  # as the validation task does
    version.refresh_from_db()
    return version


def test_the_course_page_links_instructors_and_staff_to_publishing_a_lab_and_not_students(client, world):
    url = reverse("course_packages", args=[world.course.pk])
    assert url in as_user(client, world.ada).get(reverse("home")).content.decode()
    assert url in as_user(client, world.admin).get(reverse("home")).content.decode()
    assert url not in as_user(client, world.alice).get(reverse("home")).content.decode()


def test_only_the_courses_instructors_and_staff_reach_the_package_pages(client, world, tmp_path):
    version = stored(world, tmp_path)
    pages = [
        reverse("course_packages", args=[world.course.pk]),
        reverse("package_version", args=[version.pk]),
        reverse("package_version_status", args=[version.pk]),
    ]
    for page in pages:
        assert as_user(client, world.alice).get(page).status_code == 403  # sees the course, may not publish
        assert as_user(client, world.eve).get(page).status_code == 404  # another course's instructor
        assert as_user(client, world.ada).get(page).status_code == 200
        assert as_user(client, world.admin).get(page).status_code == 200
    publish = reverse("package_publish", args=[version.pk])
    assert as_user(client, world.alice).post(publish).status_code == 403
    assert as_user(client, world.ada).get(publish).status_code == 405
    assert not world.course.assignments.filter(spec="dynamodb-inventory").exists()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"hello", "the package is not a .zip file"),
        (package_store.zip_folder(LAB07 / "solutions"), "no assignment.toml"),
        (b"PK" + bytes(package_store.MAX_ARCHIVE_BYTES), "the limit is"),
    ],
    ids=["not-a-zip", "no-manifest", "too-big"],
)
def test_a_bad_upload_gets_the_reason_on_the_form_and_stores_nothing(client, world, sent, data, says):
    response = post_package(as_user(client, world.ada), world, data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not PackageVersion.objects.exists() and sent == []


def test_an_upload_is_stored_as_validating_and_its_page_polls_the_status(
    client, world, tmp_path, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_package(as_user(client, world.ada), world, zipped(trimmed_lab07(tmp_path)))
    version = PackageVersion.objects.get()
    assert response.status_code == 302 and response.url == reverse("package_version", args=[version.pk])
    assert sent == [((version.pk,), {"queue": "admin"})]
    page = client.get(response.url).content.decode()
    assert "Validating: 0 of 1 scripts graded" in page and "package.js" in page
    assert 'id="publish-form"' not in page
    status = client.get(reverse("package_version_status", args=[version.pk])).json()
    assert status == {
        "id": version.pk,
        "status": "validating",
        "status_label": "Validating",
        "done": 0,
        "total": 1,
        "finished": False,
        "reason": "",
        "preview_ready": False,
    }


def test_a_refused_version_shows_the_reason_and_the_table_and_no_publish_button(client, world, tmp_path):
    version = stored(world, tmp_path, PackageVersion.Status.VALIDATING, solutions={"client.py": WRONG_DELETE})
    packages.package_validate(version_id=version.pk)
    page = as_user(client, world.ada).get(reverse("package_version", args=[version.pk])).content.decode()
    assert "Refused: this version cannot be published." in page
    assert "solutions/client.py: scored 8/10" in page and "failed cleanup_waited, not declared to fail" in page
    assert 'data-script="solutions/client.py" class="differs"' in page
    assert 'id="publish-form"' not in page and "package.js" not in page


def test_a_valid_version_says_it_creates_the_assignment_and_publishing_it_does(client, world, tmp_path):
    version = stored(world, tmp_path)
    page = as_user(client, world.ada).get(reverse("package_version", args=[version.pk])).content.decode()
    assert "no submissions yet" in page and 'id="publish-form"' in page
    response = client.post(reverse("package_publish", args=[version.pk]))
    assert response.status_code == 302
    assignment = world.course.assignments.get(spec="dynamodb-inventory")
    assert assignment.package_version == version
    page = client.get(response.url).content.decode()
    assert "Published version 1 of dynamodb-inventory." in page
    assert "This is the current version of" in page and 'id="publish-form"' not in page
    versions = client.get(reverse("course_packages", args=[world.course.pk])).content.decode()
    assert 'version 1</a> <span class="badge">current</span>' in versions


def test_the_preview_is_a_workers_to_compute_and_the_page_waits_for_it_before_offering_to_publish(
    client, world, tmp_path, django_capture_on_commit_callbacks, monkeypatch
):
    version = stored(world, tmp_path)
    sent = []
    monkeypatch.setattr(tasks.preview_package, "apply_async", lambda *args, **kw: sent.append((args, kw)))
    as_user(client, world.ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("package_preview_refresh", args=[version.pk]))
    assert response.status_code == 302 and sent == [(((version.pk,),), {"queue": "admin"})]
    page = client.get(reverse("package_version", args=[version.pk])).content.decode()
    assert 'id="preview-pending"' in page and "package.js" in page and 'id="publish-form"' not in page
    assert client.get(reverse("package_version_status", args=[version.pk])).json()["preview_ready"] is False

    tasks.preview_package(version.pk)  # the worker's part
    page = client.get(reverse("package_version", args=[version.pk])).content.decode()
    assert 'id="preview-pending"' not in page and "package.js" not in page and 'id="publish-form"' in page


def test_a_refused_version_cannot_be_published_by_posting_anyway(client, world, tmp_path):
    version = stored(world, tmp_path, PackageVersion.Status.INVALID)
    response = as_user(client, world.ada).post(reverse("package_publish", args=[version.pk]), follow=True)
    assert "Not published: version 1 is refused" in response.content.decode()
    assert not world.course.assignments.filter(spec="dynamodb-inventory").exists()


def test_the_admin_lists_versions_read_only_without_their_bytes(client, world, tmp_path):
    version = stored(world, tmp_path)
    as_user(client, world.admin)
    listing = client.get(reverse("admin:submissions_packageversion_changelist"))
    assert listing.status_code == 200 and "dynamodb-inventory" in listing.content.decode()
    page = client.get(reverse("admin:submissions_packageversion_change", args=[version.pk]))
    assert page.status_code == 200 and "field-archive" not in page.content.decode()
