"""Test data: a course with named people, as in every test of the service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from engine import assignments as engine_assignments
from submissions.models import Assignment, Course, Submission, SubmissionFile

PASSWORD = "pw-for-tests"


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username, password=PASSWORD, **extra)


@dataclass
class World:
    alice: object  # a student, owner of most submissions
    bob: object  # another student of the same course
    ada: object  # the course's instructor
    eve: object  # instructor of another course
    admin: object
    course: Course
    other_course: Course
    assignment: Assignment
    other_assignment: Assignment


def make_assignment(course: Course, spec: str = "s3-content-manager", **fields) -> Assignment:
    definition = engine_assignments.load(spec)
    fields.setdefault("deadline", timezone.now() + timedelta(days=7))
    return Assignment.objects.create(course=course, spec=spec, title=definition.title, **fields)


def make_world() -> World:
    alice, bob, ada, eve = (make_user(n) for n in ("alice", "bob", "ada", "eve"))
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    course = Course.objects.create(name="Python for AWS", code="aws")
    course.students.add(alice, bob)
    course.instructors.add(ada)
    other_course = Course.objects.create(name="Another course", code="other")
    other_course.instructors.add(eve)
    other_course.students.add(make_user("mallory"))
    return World(
        alice, bob, ada, eve, admin, course, other_course, make_assignment(course), make_assignment(other_course)
    )


def make_submission(
    assignment: Assignment,
    student,
    *,
    status=Submission.Status.GRADED,
    score=None,
    source: bytes = b"print('hi')\n",
    **fields,
) -> Submission:
    submission = Submission.objects.create(
        assignment=assignment,
        student=student,
        status=status,
        score=score,
        max_score=10 if score is not None else None,
        entry_point="main.py",
        **fields,
    )
    SubmissionFile.objects.create(submission=submission, name="main.py", content=source)
    return submission
