"""Bulk re-check: how long re-checking every stored submission of an assignment takes (issue 9, item 7).

Run from the repository root, as root (the sandbox grades the example records once):

    .venv/bin/python bench/bulk_recheck.py                        # 1,000 submissions, SQLite, in-process
    .venv/bin/python bench/bulk_recheck.py --database postgres    # a PostgreSQL database it creates and drops
    .venv/bin/python bench/bulk_recheck.py --worker               # a real Celery worker over a private Redis
    .venv/bin/python bench/bulk_recheck.py --worker --broker filesystem   # ... over the demo's broker
    .venv/bin/python bench/bulk_recheck.py --one-by-one           # also the old way: one message per submission

It builds a throwaway database (a SQLite file in a temporary folder, or with --database
postgres a database `labgrader_bench_recheck_<pid>` on E2E_PG_ADMIN_URL, dropped at the
end), migrates it, grades a few example scripts once with engine.grading.grade() in the
sandbox (or, with --no-sandbox, uses hand-built records from tests/records.py), and stores
--submissions graded submissions that cycle through those run records, each with its file
and its check outcomes, as the worker would have stored them.

Then it times the re-check of all of them through the same path as the gradebook's
"Re-run checks for all" button: services.bulk_job_start(kind=recheck) -> the
recheck_submissions task(s) on the admin queue -> services.submissions_recheck. By default
the tasks run in this process as soon as the job's transaction commits (Celery eager);
with --worker a real `celery worker -Q admin` (concurrency 1) takes them from a private
redis-server (or, --broker filesystem, the demo's filesystem transport), and the clock
stops when the job row says done == total. It prints the
wall time, the time per submission, the job's progress as it was seen ("N of M"), and
checks that every score and outcome equals a re-check done one record at a time with
engine.grading.evaluate(); the script exits non-zero if not, or if the job did not reach
M of M, or (without --one-by-one) if it took --limit seconds (default 10) or more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

LAB06 = REPO_ROOT / "assignments" / "s3-content-manager"
ASSIGNMENT = "s3-content-manager"
# Scripts whose records differ: full marks, some checks failing, no S3 call at all.
GRADED_EXAMPLES = (
    "solutions/correct_client.py",
    "examples/wrong_no_cleanup.py",
    "examples/wrong_two_files.py",
    "examples/wrong_forged_audit.py",
    "examples/wrong_no_s3_call.py",
    "examples/wrong_audit_no_tags.py",
)
PG_ADMIN = os.environ.get("E2E_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Throwaway:
    """The database, broker folder and (with --worker) redis-server and worker; gone at the end."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.folder = Path(tempfile.mkdtemp(prefix="bulk-recheck-"))
        self.pg_name = f"labgrader_bench_recheck_{os.getpid()}" if args.database == "postgres" else None
        self.processes: list[subprocess.Popen] = []
        if self.pg_name:
            self.database_url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.pg_name
        else:
            self.database_url = f"sqlite:///{self.folder / 'db.sqlite3'}"
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0" if args.worker and args.broker == "redis" else ""

    def __enter__(self) -> Throwaway:
        if self.pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
        os.environ.update(
            DJANGO_SETTINGS_MODULE="grader.settings",
            DATABASE_URL=self.database_url,
            BROKER_DIR=str(self.folder / "broker"),  # eager: nothing is sent, but keep var/ clean
            DEBUG="False",
        )
        if self.redis_url:
            os.environ["REDIS_URL"] = self.redis_url
        else:
            os.environ.pop("REDIS_URL", None)
        return self

    def start_worker(self) -> None:
        if self.redis_url:
            port = self.redis_url.rsplit(":", 1)[1].split("/")[0]
            redis_log = open(self.folder / "redis.log", "w")
            command = ["redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            self.processes.append(subprocess.Popen(command, stdout=redis_log, stderr=subprocess.STDOUT))
            time.sleep(0.5)
        self.worker_log = self.folder / "worker.log"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        worker = [sys.executable, "-m", "celery", "-A", "grader", "worker", "--queues", "admin"]
        worker += ["--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
        worker += ["--hostname", f"bench-recheck-{os.getpid()}@%h"]
        log = open(self.worker_log, "w")
        self.processes.append(
            subprocess.Popen(
                worker, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )
        deadline = time.monotonic() + 60
        while "ready." not in self.worker_log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n" + self.worker_log.read_text(errors="replace"))
            time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except (PermissionError, ProcessLookupError):
                    process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        from django.db import connections

        connections.close_all()
        if self.pg_name:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)


def example_reports(use_sandbox: bool) -> list[tuple[str, bytes, object]]:
    """(file name, source, GradeReport) for each kind of record the submissions will hold."""
    from engine import assignments
    from engine.files import from_uploads
    from engine.grading import GradeReport, evaluate, grade

    definition = assignments.load(ASSIGNMENT)
    if not use_sandbox:
        from tests import records

        runs = {
            "correct.py": records.correct_run(),
            "no_cleanup.py": records.audits(records.uploads_three()),
            "uploads_only.py": records.uploads_three(),
            "nothing.py": records.ScriptRun().prints("hello\n"),
        }
        out = []
        for name, run in runs.items():
            record = run.record()
            out.append((name, b"import boto3\n", GradeReport(ASSIGNMENT, record, evaluate(record, definition))))
        return out
    out = []
    for name in GRADED_EXAMPLES:
        source = (LAB06 / name).read_bytes()
        report = grade(files=from_uploads([(name, source)]), assignment=definition, username="alice")
        out.append((name, source, report))
    return out


def store_submissions(count: int, reports) -> tuple[object, object]:
    """The course, its assignment and `count` graded submissions cycling through the reports."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from submissions.models import Assignment, CheckOutcome, Course, Submission, SubmissionFile

    users = get_user_model().objects
    admin = users.create_superuser("admin", "admin@example.com", "bench")
    students = [users.create_user(f"student{i:04d}") for i in range(max(1, count // 4))]
    course = Course.objects.create(name="Bench", code="bench")
    course.students.add(*students)
    assignment = Assignment.objects.create(course=course, spec=ASSIGNMENT, title="Bench lab")
    now = timezone.now()
    with transaction.atomic():
        rows = Submission.objects.bulk_create(
            [
                Submission(
                    assignment=assignment,
                    student=students[i % len(students)],
                    created_at=now,
                    status=Submission.Status.GRADED,
                    entry_point=reports[i % len(reports)][0],
                    score=reports[i % len(reports)][2].score,
                    max_score=reports[i % len(reports)][2].max_score,
                    run_record=reports[i % len(reports)][2].record.to_dict(),
                    graded_at=now,
                    times_graded=1,
                )
                for i in range(count)
            ],
            batch_size=200,
        )
        SubmissionFile.objects.bulk_create(
            [
                SubmissionFile(submission=row, name=reports[i % len(reports)][0], content=reports[i % len(reports)][1])
                for i, row in enumerate(rows)
            ],
            batch_size=500,
        )
        CheckOutcome.objects.bulk_create(
            [
                CheckOutcome(
                    submission=row,
                    position=p,
                    check_id=c.id,
                    name=c.name,
                    passed=c.passed,
                    points=c.points,
                    max_points=c.max_points,
                    feedback=c.feedback,
                    error=c.error,
                )
                for i, row in enumerate(rows)
                for p, c in enumerate(reports[i % len(reports)][2].checks)
            ],
            batch_size=1000,
        )
    return admin, assignment


def expected_by_record(reports) -> dict[str, tuple]:
    """What a one-at-a-time re-check gives for each record (keyed by the entry point that made it)."""
    from engine import assignments
    from engine.grading import evaluate
    from engine.record import RunRecord

    definition = assignments.load(ASSIGNMENT)
    expected = {}
    for name, _, report in reports:
        results = evaluate(RunRecord.from_dict(report.record.to_dict()), definition)
        outcomes = [(r.id, r.passed, r.points, r.max_points, r.feedback, r.error) for r in results]
        expected[name] = (sum(r.points for r in results), sum(r.max_points for r in results), outcomes)
    return expected


def verify(assignment, expected) -> list[str]:
    from submissions.models import CheckOutcome, Submission

    problems = []
    outcomes: dict[int, list] = {}
    for o in CheckOutcome.objects.filter(submission__assignment=assignment).order_by("submission_id", "position"):
        outcomes.setdefault(o.submission_id, []).append(
            (o.check_id, o.passed, o.points, o.max_points, o.feedback, o.error)
        )
    for row in Submission.objects.filter(assignment=assignment).values("pk", "entry_point", "score", "max_score"):
        want = expected[row["entry_point"]]
        got = (row["score"], row["max_score"], outcomes.get(row["pk"], []))
        if got != want:
            problems.append(f"#{row['pk']} ({row['entry_point']}): {got[:2]} != {want[:2]}")
    return problems


def recheck(assignment, admin, *, one_by_one: bool, poll: bool) -> tuple[float, list[str], object]:
    """Start the re-check as the gradebook button does; return (seconds, progress seen, job)."""
    from django.db import transaction

    from submissions import services, tasks
    from submissions.models import BulkJob, Submission

    scope = Submission.objects.filter(assignment=assignment).exclude(run_record=None)
    started = time.perf_counter()
    if one_by_one:  # the old path: one message (one task, its own reads and writes) per submission
        ids = list(scope.values_list("pk", flat=True))
        with transaction.atomic():
            job = BulkJob.objects.create(
                kind=BulkJob.Kind.RECHECK,
                assignment=assignment,
                description="one by one",
                total=len(ids),
                created_by=admin,
            )
            for sid in ids:
                transaction.on_commit(
                    lambda sid=sid: tasks.recheck_submission.apply_async((sid, job.pk), queue="admin")
                )
    else:
        job = services.bulk_job_start(
            kind=BulkJob.Kind.RECHECK, submissions=scope, description="all", by=admin, assignment=assignment
        )
    seen = []
    while True:
        job.refresh_from_db()
        step = f"{job.done} of {job.total}"
        if not seen or seen[-1] != step:
            seen.append(step)
        if job.done >= job.total or not poll:
            break
        time.sleep(0.05)
    return time.perf_counter() - started, seen, job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--worker", action="store_true", help="a real Celery worker over a private Redis")
    parser.add_argument(
        "--broker",
        choices=("redis", "filesystem"),
        default="redis",
        help="with --worker: a private redis-server, or the demo's filesystem transport (polled every 0.2 s)",
    )
    parser.add_argument("--one-by-one", action="store_true", help="also time one message per submission")
    parser.add_argument("--no-sandbox", action="store_true", help="hand-built records instead of graded examples")
    parser.add_argument("--limit", type=float, default=10.0, help="seconds the bulk re-check must stay under")
    args = parser.parse_args()

    with Throwaway(args) as place:
        import django

        django.setup()
        from django.core.management import call_command

        from grader.celery import app

        if not args.worker:
            app.conf.task_always_eager = True  # the tasks run here, when the job's transaction commits
            app.conf.task_eager_propagates = True
        call_command("migrate", verbosity=0)
        print(f"database: {args.database} ({place.database_url.split('@')[-1]})")
        started = time.perf_counter()
        reports = example_reports(use_sandbox=not args.no_sandbox)
        print(
            f"records: {len(reports)} kinds ({'graded in the sandbox' if not args.no_sandbox else 'hand-built'}), ",
            end="",
        )
        print(f"{sum(len(r.record.to_json()) for _, _, r in reports) // len(reports)} bytes of JSON on average")
        admin, assignment = store_submissions(args.submissions, reports)
        print(f"stored {args.submissions} graded submissions in {time.perf_counter() - started:.1f} s")
        expected = expected_by_record(reports)
        if args.worker:
            place.start_worker()
            broker = "private redis-server" if place.redis_url else "filesystem broker in a temporary folder"
            print(f"worker: celery -A grader worker --queues admin --concurrency 1, {broker}")

        results = {}
        ways = [("one message per submission", True)] if args.one_by_one else []
        ways.append(("bulk (bulk_job_start -> recheck_submissions)", False))
        failed = False
        for label, one_by_one in ways:
            from submissions.models import CheckOutcome, Submission

            # Every run starts from the same stale state: scores and outcomes zeroed.
            Submission.objects.filter(assignment=assignment).update(score=0)
            CheckOutcome.objects.filter(submission__assignment=assignment).update(points=0, passed=False)
            seconds, seen, job = recheck(assignment, admin, one_by_one=one_by_one, poll=True)
            problems = verify(assignment, expected)
            results[label] = seconds
            progress = seen if len(seen) <= 8 else [*seen[:4], "...", *seen[-3:]]
            print(f"\n{label}:")
            print(f"  re-checked {job.total} submissions in {seconds:.2f} s ({1000 * seconds / job.total:.2f} ms each)")
            print(f"  progress seen on the job: {', '.join(progress)}")
            print(f"  scores and outcomes equal to a one-at-a-time evaluate(): {'yes' if not problems else 'NO'}")
            for problem in problems[:10]:
                print("   ", problem)
            if problems or job.done != job.total:
                failed = True
        counts = Counter(Submission.objects.filter(assignment=assignment).values_list("score", flat=True))
        print(f"\nscores: {dict(sorted(counts.items()))}")
        bulk = results[ways[-1][0]]
        if len(results) == 2:
            print(f"one message per submission / bulk: {results[ways[0][0]] / bulk:.1f}x")
        if bulk >= args.limit:
            print(f"FAILED: the bulk re-check took {bulk:.2f} s, the limit is {args.limit} s")
            failed = True
        print(
            f"\nbulk re-check of {args.submissions}: {bulk:.2f} s (limit {args.limit} s): {'FAIL' if failed else 'ok'}"
        )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
