"""Who may open what: every URL, every kind of user."""

import re

import pytest
from django.urls import get_resolver, reverse

from submissions.models import BulkJob, PackageVersion
from tests.factories import PASSWORD, make_submission

# Expected status per user; 302 for a POST that did its work and redirected.
# 404 where the user may not even see the object (as if it did not exist, so ids
# cannot be counted); 403 where they see it but may not do this with it.
VIEWER = {"alice": 200, "bob": 404, "ada": 200, "eve": 404, "admin": 200}
COURSE_MEMBER = {"alice": 200, "bob": 200, "ada": 200, "eve": 404, "admin": 200}
TEACHER = {"alice": 403, "bob": 403, "ada": 200, "eve": 404, "admin": 200}
ADMIN_ONLY = {"alice": 403, "bob": 403, "ada": 403, "eve": 403, "admin": 200}
ADMIN_POST = {**ADMIN_ONLY, "admin": 302}


@pytest.fixture
def objects(world):
    submission = make_submission(world.assignment, world.alice, score=6)
    job = BulkJob.objects.create(kind="recheck", description="x", total=0, created_by=world.admin)
    # Refused, so that publishing it does nothing but say so.
    version = PackageVersion.objects.create(
        course=world.course, slug="lab", number=1, title="Lab", archive=b"", sha256="0" * 64, status="invalid"
    )
    return {"submission": submission, "assignment": world.assignment, "job": job, "version": version}


def cases(objects):
    a, s, j = objects["assignment"].pk, objects["submission"].pk, objects["job"].pk
    c, v = objects["assignment"].course_id, objects["version"].pk
    return [
        ("get", reverse("assignment", args=[a]), {}, COURSE_MEMBER),
        ("get", reverse("gradebook", args=[a]), {}, TEACHER),
        ("get", reverse("gradebook_csv", args=[a]), {}, TEACHER),
        ("get", reverse("assignment_settings", args=[a]), {}, TEACHER),
        ("post", reverse("rerun", args=[a]), {"kind": "recheck"}, {**ADMIN_POST, "eve": 404}),
        ("get", reverse("submission", args=[s]), {}, VIEWER),
        ("get", reverse("submission_status", args=[s]), {}, VIEWER),
        (
            "post",
            reverse("override", args=[s]),
            {"score": 5, "reason": "r"},
            {**VIEWER, "alice": 403, "ada": 302, "admin": 302},
        ),
        ("post", reverse("override_remove", args=[s]), {}, {**VIEWER, "alice": 403, "ada": 302, "admin": 302}),
        ("post", reverse("submission_rerun", args=[s]), {"kind": "recheck"}, {**ADMIN_POST, "bob": 404, "eve": 404}),
        ("get", reverse("job", args=[j]), {}, ADMIN_ONLY),
        ("get", reverse("job_status", args=[j]), {}, ADMIN_ONLY),
        ("get", reverse("course_packages", args=[c]), {}, TEACHER),
        ("get", reverse("package_version", args=[v]), {}, TEACHER),
        ("get", reverse("package_version_status", args=[v]), {}, TEACHER),
        ("post", reverse("package_publish", args=[v]), {}, {**TEACHER, "ada": 302, "admin": 302}),
        ("post", reverse("package_preview_refresh", args=[v]), {}, {**TEACHER, "ada": 302, "admin": 302}),
    ]


@pytest.mark.parametrize("username", ["alice", "bob", "ada", "eve", "admin"])
def test_every_url_answers_each_kind_of_user_as_the_matrix_says(client, world, objects, username):
    client.login(username=username, password=PASSWORD)
    for method, url, data, expected in cases(objects):
        response = getattr(client, method)(url, data)
        assert response.status_code == expected[username], f"{username} {method.upper()} {url}"


@pytest.mark.parametrize("username, name", [("bob", "submission"), ("bob", "submission_status"), ("eve", "assignment")])
def test_what_a_user_may_not_see_answers_exactly_as_what_does_not_exist(client, objects, username, name):
    client.login(username=username, password=PASSWORD)
    pk = objects["assignment" if name == "assignment" else "submission"].pk
    hidden, missing = client.get(reverse(name, args=[pk])), client.get(reverse(name, args=[pk + 1000]))
    assert hidden.status_code == missing.status_code == 404
    assert without_csrf_token(hidden.content.decode()) == without_csrf_token(missing.content.decode())


def without_csrf_token(page: str) -> str:
    """The logout form's token is masked afresh on every page."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_every_page_sends_anonymous_users_to_the_login_page(client, objects):
    for method, url, data, _ in cases(objects) + [("get", reverse("home"), {}, None)]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and response.url.startswith("/login/"), url


def test_the_matrix_covers_every_url_of_the_app(objects):
    named = {p.name for p in get_resolver("submissions.urls").url_patterns}
    covered = {"home", "submit"} | {url_name(url) for _, url, _, _ in cases(objects)}
    assert named <= covered


def url_name(url: str) -> str:
    from django.urls import resolve

    return resolve(url).url_name


def test_a_student_sees_only_their_own_submissions_on_the_assignment_page(client, world):
    make_submission(world.assignment, world.bob, score=3)
    mine = make_submission(world.assignment, world.alice, score=9)
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("assignment", args=[world.assignment.pk])).content.decode()
    assert f"/submissions/{mine.pk}/" in page
    assert page.count('data-status-url="/submissions/') == 1


def test_an_instructor_of_another_course_sees_neither_the_course_nor_its_gradebook(client, world):
    client.login(username="eve", password=PASSWORD)
    home = client.get(reverse("home")).content.decode()
    assert world.course.name not in home and world.other_course.name in home


def test_forms_are_refused_without_a_csrf_token(world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.login(username="alice", password=PASSWORD)
    response = strict.post(reverse("submit", args=[world.assignment.pk]), {})
    assert response.status_code == 403


def test_the_admin_site_is_for_staff_only(client, world):
    client.login(username="ada", password=PASSWORD)
    assert client.get("/admin/").status_code == 302
    client.login(username="admin", password=PASSWORD)
    assert client.get("/admin/submissions/submission/").status_code == 200
