"""A demo course: an admin, an instructor, three students, three assignments, graded submissions."""

from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from engine import assignments as engine_assignments
from submissions import services
from submissions.models import Assignment, Course

ROOT = Path(__file__).resolve().parents[3]
DEMO_PASSWORD = "demo"
# (student, assignment slug, submission) graded while seeding, so the gradebook has something to show.
DEMO_SUBMISSIONS = [
    ("alice", "s3-content-manager", "assignments/s3-content-manager/solutions/correct_client.py"),
    ("bob", "s3-content-manager", "assignments/s3-content-manager/examples/wrong_no_cleanup.py"),
    ("bob", "s3-content-manager", "assignments/s3-content-manager/examples/wrong_two_files.py"),
    ("carol", "s3-content-manager", "assignments/s3-content-manager/examples/wrong_forged_audit.py"),
    ("alice", "s3-walkthrough", "assignments/s3-walkthrough/solutions/manage_s3.py"),
    ("alice", "dynamodb-inventory", "assignments/dynamodb-inventory/solutions/resource.py"),
    ("bob", "dynamodb-inventory", "assignments/dynamodb-inventory/examples/wrong_no_delete_waiter.py"),
]
# (slug, days until the deadline)
DEMO_ASSIGNMENTS = [("s3-walkthrough", 7), ("s3-content-manager", 14), ("dynamodb-inventory", 21)]


class Command(BaseCommand):
    help = "Create the demo course (idempotent) and grade a few submissions."

    def add_arguments(self, parser):
        parser.add_argument("--no-grading", action="store_true", help="create users and course only")

    def handle(self, *args, **options):
        if Course.objects.filter(code="boto3-demo").exists():
            self.stdout.write("demo course already there")
            return
        with transaction.atomic():
            course = self._course()
        if not options["no_grading"]:
            self._grade_examples(course)
        self.stdout.write(
            self.style.SUCCESS(
                f"demo course ready: log in as admin, ada (instructor), alice, bob or carol; password '{DEMO_PASSWORD}'"
            )
        )

    def _course(self) -> Course:
        users = get_user_model().objects
        users.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
        ada = users.create_user("ada", password=DEMO_PASSWORD, first_name="Ada")
        students = [users.create_user(name, password=DEMO_PASSWORD) for name in ("alice", "bob", "carol")]
        course = Course.objects.create(name="Python for AWS (Boto3)", code="boto3-demo")
        course.instructors.add(ada)
        course.students.add(*students)
        for slug, days in DEMO_ASSIGNMENTS:
            spec = engine_assignments.load(slug)
            Assignment.objects.create(
                course=course,
                spec=slug,
                title=spec.title,
                instructions=spec.instructions,
                deadline=timezone.now() + timedelta(days=days),
            )
        return course

    def _grade_examples(self, course: Course) -> None:
        users = get_user_model().objects
        for username, slug, example in DEMO_SUBMISSIONS:
            assignment = course.assignments.get(spec=slug)
            path = ROOT / example
            submission = services.submission_create(
                assignment=assignment, student=users.get(username=username), uploads=[(path.name, path.read_bytes())]
            )
            # Graded here, synchronously; the queued message then finds it done.
            outcome = services.submission_grade(submission_id=submission.pk)
            self.stdout.write(f"  {username}: {example} -> {outcome}")
