"""Package versions of a course: upload, validation through the real sandbox, preview, publish."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from engine import package_store
from submissions import packages, services, tasks
from submissions.models import Assignment, PackageVersion, Submission
from submissions.packages import PackageRefused
from tests.factories import make_submission
from tests.packages import LAB07, trimmed_lab07, zipped

WRONG_DELETE = LAB07 / "examples" / "wrong_no_delete_waiter.py"  # fails cleanup_waited: 8/10


@pytest.fixture(autouse=True)
def package_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.mktemp("package-cache")
    monkeypatch.setenv(package_store.CACHE_ENV, str(cache))
    return cache


@pytest.fixture
def sent(monkeypatch) -> list:
    """The broker seam: validations that would have been sent to Celery."""
    calls = []
    monkeypatch.setattr(tasks.validate_package, "apply_async", lambda args, **options: calls.append((args, options)))
    return calls


def upload(world, data: bytes, **options) -> PackageVersion:
    return packages.package_upload(course=world.course, data=data, by=world.ada, **options)


def valid_version(world, tmp_path, **trim) -> PackageVersion:
    """Stored and marked valid without grading: for what comes after validation."""
    version = upload(world, zipped(trimmed_lab07(tmp_path, **trim)), background=False)
    PackageVersion.objects.filter(pk=version.pk).update(status=PackageVersion.Status.VALID)
    version.refresh_from_db()
    return version


def test_an_upload_is_stored_as_the_next_version_and_sent_to_the_admin_queue_for_validation(
    world, tmp_path, sent, django_capture_on_commit_callbacks
):
    data = zipped(trimmed_lab07(tmp_path, examples={"wrong_no_cleanup.py": ["cleanup_waited"]}))
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(world, data)
        second = upload(world, data)
    assert (first.number, second.number) == (1, 2)
    assert first.slug == "dynamodb-inventory" and first.title == "Lab 07: DynamoDB Inventory"
    assert first.status == PackageVersion.Status.VALIDATING and (first.done, first.total) == (0, 2)
    assert bytes(first.archive) == data and first.sha256 == package_store.sha256_of(data)
    assert first.uploaded_by == world.ada
    assert sent == [((first.pk,), {"queue": "admin"}), ((second.pk,), {"queue": "admin"})]
    assert world.course.assignments.filter(spec="dynamodb-inventory").count() == 0  # nothing published yet


def zip_of(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def lab07_with(tmp_path, replaced: dict[str, str]) -> bytes:
    package = trimmed_lab07(tmp_path, examples={"wrong_no_cleanup.py": ["cleanup_waited"]})
    for name, text in replaced.items():
        (package / name).write_text(text)
    return zipped(package)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: b"just text", "not a .zip file"),
        (lambda tmp: zip_of({"notes.txt": "hi", "main.py": "print(1)"}), "no assignment.toml"),
        (lambda tmp: lab07_with(tmp, {"assignment.toml": "slug = "}), "the package/assignment.toml"),
        (
            lambda tmp: lab07_with(tmp, {"assignment.toml": 'slug = "x"\n[[checks]]\nid = "no_such_check"\n'}),
            "unknown checks: no_such_check",
        ),
        (
            lambda tmp: lab07_with(tmp, {"examples/expected.toml": "[[example]]\npath = 'gone.py'\n"}),
            "listed but missing ['gone.py']",
        ),
        (lambda tmp: b"PK" + bytes(package_store.MAX_ARCHIVE_BYTES), "the limit is"),
    ],
    ids=["not-a-zip", "no-manifest", "broken-manifest", "unknown-check", "bad-expected", "too-big"],
)
def test_a_bad_upload_is_refused_with_the_reason_and_stores_nothing(world, tmp_path, make, says):
    with pytest.raises(PackageRefused, match=re.escape(says)) as refused:
        upload(world, make(tmp_path))
    assert str(package_store.cache_dir()) not in str(refused.value)
    assert not PackageVersion.objects.exists()


def test_a_valid_package_is_graded_through_the_sandbox_with_progress_and_keeps_its_report(world, tmp_path):
    data = zipped(trimmed_lab07(tmp_path, examples={"wrong_no_delete_waiter.py": ["cleanup_waited"]}))
    version = upload(world, data, background=False)
    seen = []
    version = packages.package_validate(version_id=version.pk, progress=lambda done, total, _: seen.append(done))
    assert version.status == PackageVersion.Status.VALID, version.reason
    assert (version.done, version.total) == (2, 2) and sorted(seen) == [1, 2]
    assert version.reason == "" and version.report["valid"]
    results = {r["path"]: r for r in version.report["results"]}
    assert results["client.py"]["score"] == 10 and results["client.py"]["failed"] == []
    assert results["wrong_no_delete_waiter.py"]["failed"] == ["cleanup_waited"]


def test_a_package_whose_reference_solution_scores_8_is_refused_naming_the_check_and_publishes_nothing(world, tmp_path):
    version = upload(world, zipped(trimmed_lab07(tmp_path, solutions={"client.py": WRONG_DELETE})), background=False)
    version = packages.package_validate(version_id=version.pk)
    assert version.status == PackageVersion.Status.INVALID
    assert "solutions/client.py: scored 8/10" in version.reason
    assert "failed cleanup_waited, not declared to fail" in version.reason
    with pytest.raises(PackageRefused, match="refused"):
        packages.package_publish(version=version, by=world.ada)
    assert not world.course.assignments.filter(spec="dynamodb-inventory").exists()


def test_a_redelivered_validation_message_grades_nothing_again(world, tmp_path, monkeypatch):
    version = valid_version(world, tmp_path)
    monkeypatch.setattr(packages, "validate", lambda *a, **k: pytest.fail("graded again"))
    assert tasks.validate_package(version.pk) == PackageVersion.Status.VALID


def test_publishing_creates_the_course_assignment_which_then_grades_with_that_version(world, tmp_path, enqueued):
    version = valid_version(world, tmp_path)
    published = packages.package_publish(version=version, by=world.ada)
    assignment = published.assignment
    assert published.created and (assignment.spec, assignment.package_version) == ("dynamodb-inventory", version)
    assert assignment.title == "Lab 07: DynamoDB Inventory" and "inventory.csv" in assignment.instructions
    version.refresh_from_db()
    assert version.status == PackageVersion.Status.PUBLISHED and version.published_at is not None
    assert assignment.engine_assignment().package_dir.name == version.sha256
    assignment.full_clean()  # its spec names no package of the repository's, and need not

    submission = make_submission(
        assignment, world.alice, status=Submission.Status.QUEUED, source=(LAB07 / "solutions/client.py").read_bytes()
    )
    assert services.submission_grade(submission_id=submission.pk) == "graded"
    submission.refresh_from_db()
    assert (submission.score, submission.max_score) == (10, 10)
    assert submission.package_version == version


def graded(assignment: Assignment, student, script) -> Submission:
    submission = make_submission(assignment, student, status=Submission.Status.QUEUED, source=script.read_bytes())
    services.submission_grade(submission_id=submission.pk)
    submission.refresh_from_db()
    return submission


def test_the_preview_lists_the_scores_a_new_version_would_change_and_saves_nothing(world, tmp_path, enqueued):
    first = valid_version(world, tmp_path / "v1")
    assignment = packages.package_publish(version=first, by=world.ada).assignment
    wrong = graded(assignment, world.alice, WRONG_DELETE)
    right = graded(assignment, world.bob, LAB07 / "solutions/client.py")
    assert (wrong.score, right.score) == (8, 10)

    second = valid_version(world, tmp_path / "v2", points={"cleanup_waited": 4, "table_ready": 2})
    preview = packages.package_preview(version=second)
    assert preview.assignment == assignment and preview.submissions == 2
    assert [(c.student, c.submission_id, c.old, c.new) for c in preview.changes] == [
        ("alice", wrong.pk, "8/10", "8/12"),
        ("bob", right.pk, "10/10", "12/12"),
    ]
    assert preview.rerun_advised == []  # same files, stdin and limits: a re-check is what a re-run would give
    wrong.refresh_from_db()
    assert (wrong.score, wrong.max_score, wrong.package_version) == (8, 10, first)
    assignment.refresh_from_db()
    assert assignment.package_version == first


def test_publishing_a_new_version_re_checks_the_existing_submissions_so_the_gradebook_matches(
    world, tmp_path, enqueued
):
    first = valid_version(world, tmp_path / "v1")
    assignment = packages.package_publish(version=first, by=world.ada).assignment
    wrong = graded(assignment, world.alice, WRONG_DELETE)
    second = valid_version(world, tmp_path / "v2", points={"cleanup_waited": 4})
    published = packages.package_publish(version=second, by=world.ada)
    assert not published.created and published.assignment == assignment and published.rechecked == 1
    wrong.refresh_from_db()
    assert (wrong.score, wrong.max_score, wrong.package_version) == (8, 12, second)
    assert [o.max_points for o in wrong.outcomes.all() if o.check_id == "cleanup_waited"] == [4]
    # Every version is kept; an older one can be published again (a rollback).
    packages.package_publish(version=first, by=world.ada)
    wrong.refresh_from_db()
    assert (wrong.score, wrong.max_score, wrong.package_version) == (8, 10, first)
    assert list(PackageVersion.objects.values_list("number", flat=True).order_by("number")) == [1, 2]


def test_publishing_from_the_pages_re_checks_in_the_background_on_the_admin_queue(
    world, tmp_path, enqueued, django_capture_on_commit_callbacks
):
    first = valid_version(world, tmp_path / "v1")
    assignment = packages.package_publish(version=first, by=world.ada).assignment
    graded(assignment, world.alice, WRONG_DELETE)
    enqueued.clear()
    second = valid_version(world, tmp_path / "v2")
    with django_capture_on_commit_callbacks(execute=True):
        published = packages.package_publish(version=second, by=world.ada, background=True)
    assert published.rechecked == 1
    assert [(name, options["queue"]) for name, _, options in enqueued] == [("recheck_submissions", "admin")]


def test_a_course_with_published_versions_and_graded_submissions_can_still_be_deleted(world, tmp_path):
    version = valid_version(world, tmp_path)
    assignment = packages.package_publish(version=version, by=world.ada).assignment
    make_submission(assignment, world.alice, score=10, package_version=version)
    world.course.delete()
    assert not PackageVersion.objects.exists() and not Assignment.objects.filter(pk=assignment.pk).exists()


def test_the_sweep_sends_again_a_validation_whose_message_was_lost_or_whose_worker_was_killed(
    world, tmp_path, sent, monkeypatch, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from submissions import services

    monkeypatch.setattr(services, "broker_backlog", lambda queue: 0)
    now = timezone.now()
    lost, killed, running, done = (stored_validating(world, tmp_path / str(n)) for n in range(4))
    PackageVersion.objects.filter(pk=lost.pk).update(sent_at=now - timedelta(hours=1))
    hard_limit = settings.PACKAGE_VALIDATION_SOFT_TIME_LIMIT + 30 + settings.GRADING_LEASE_MARGIN_S
    long_ago = now - timedelta(seconds=hard_limit + 1)
    PackageVersion.objects.filter(pk=killed.pk).update(sent_at=long_ago, started_at=long_ago, done=3)
    PackageVersion.objects.filter(pk=running.pk).update(sent_at=long_ago, started_at=now - timedelta(seconds=60))
    PackageVersion.objects.filter(pk=done.pk).update(sent_at=long_ago, status=PackageVersion.Status.VALID)

    assert packages.validations_sweep(now=now) == 2
    assert sorted(args for args, _ in sent) == sorted([(lost.pk,), (killed.pk,)])
    killed.refresh_from_db()
    assert (killed.sent_at, killed.started_at, killed.done) == (now, None, 0)
    assert packages.validations_sweep(now=now) == 0  # sent again just now: not again at the next sweep
    monkeypatch.setattr(services, "broker_backlog", lambda queue: 5)
    assert packages.validations_sweep(now=now + timedelta(days=1)) == 0  # a backlog is just a queue


def stored_validating(world, where) -> PackageVersion:
    data = zipped(trimmed_lab07(where))
    return packages.package_upload(course=world.course, data=data, by=world.ada, background=False)
