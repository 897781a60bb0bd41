import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from submissions.models import Assignment, Submission, SubmissionFile
from submissions.services import SubmissionRejected, submission_create
from tests.factories import make_submission

SCRIPT = ("lab.py", b"import boto3\n")


def test_it_stores_the_files_and_enqueues_grading_on_commit(world, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submission_create(
            assignment=world.assignment, student=world.alice, uploads=[SCRIPT, ("notes.txt", b"hello")]
        )
    assert submission.status == Submission.Status.QUEUED and submission.entry_point == "lab.py"
    assert sorted(f.name for f in submission.files.all()) == ["lab.py", "notes.txt"]
    assert enqueued == [("grade_submission", (submission.pk,), {"queue": "grading"})]


def test_it_nothing_is_sent_before_the_transaction_commits(world, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])
    assert enqueued == [] and len(callbacks) == 1


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "uploads,message",
    [
        ([], "empty"),
        ([("lab.zip", zip_of({"../../etc/cron.d/x.py": b""}))], "outside the submission"),
        ([("lab.zip", b"not a zip")], "damaged"),
        ([("notes.txt", b"hi")], "no Python"),
        ([("a.py", b""), ("b.py", b"")], "name the one to run"),
        ([("big.py", b"#" * (2 * 1024 * 1024))], "the limit is"),
    ],
)
def test_a_bad_upload_is_refused_with_a_clear_message_and_stores_nothing(world, enqueued, uploads, message):
    existing = make_submission(world.assignment, world.alice, score=7)
    with pytest.raises(SubmissionRejected, match=message):
        submission_create(assignment=world.assignment, student=world.alice, uploads=uploads)
    assert list(Submission.objects.all()) == [existing]
    assert SubmissionFile.objects.count() == 1 and bytes(existing.files.get().content) == b"print('hi')\n"


def test_a_student_of_another_course_cannot_submit(world, enqueued):
    with pytest.raises(SubmissionRejected, match="not enrolled"):
        submission_create(assignment=world.other_assignment, student=world.alice, uploads=[SCRIPT])


def test_a_hard_deadline_refuses_late_work(world, enqueued):
    world.assignment.deadline = timezone.now() - timedelta(minutes=1)
    world.assignment.late_policy = Assignment.LatePolicy.HARD
    world.assignment.save()
    with pytest.raises(SubmissionRejected, match="deadline"):
        submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])


def test_a_penalty_deadline_accepts_late_work_and_marks_it(world, enqueued):
    world.assignment.deadline = timezone.now() - timedelta(minutes=1)
    world.assignment.save()
    assert submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT]).is_late


def test_the_submission_limit_counts_everything_but_not_gradable_runs(world, enqueued):
    world.assignment.max_submissions = 2
    world.assignment.save()
    make_submission(world.assignment, world.alice, score=3)
    make_submission(world.assignment, world.alice, status=Submission.Status.NOT_GRADABLE)
    submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])
    with pytest.raises(SubmissionRejected, match="all 2 submissions"):
        submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])
    assert submission_create(assignment=world.assignment, student=world.bob, uploads=[SCRIPT])


def test_the_hourly_rate_limit_says_when_to_come_back(world, enqueued):
    world.assignment.max_per_hour = 1
    world.assignment.save()
    make_submission(world.assignment, world.alice, score=3, created_at=timezone.now() - timedelta(minutes=50))
    with pytest.raises(SubmissionRejected, match="try again in 10 min"):
        submission_create(assignment=world.assignment, student=world.alice, uploads=[SCRIPT])
