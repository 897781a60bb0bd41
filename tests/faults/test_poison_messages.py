"""Poison messages through a real Celery worker (issue 9, item 1): whatever goes wrong while
grading, every submission ends, after a bounded number of attempts, in NOT GRADABLE with its
reason on the student's page; nothing stays RUNNING for the sweep to send again for ever.

One worker at a time: a bug in the grader (injected into that worker's interpreter only),
the soft time limit, a worker killed on every attempt (no handler runs: only the sweep can
end it), and an assignment whose definition was deleted after it was saved (whose gradebook
must not fail either). The time limits are the whole stack's: Celery puts the sender's
limits into each message, so the web's settings decide a first delivery's limits.
"""

import itertools
import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from tests.faults.test_faults import SOLUTIONS
from tests.stack import REPO, Stack

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
MAX_ATTEMPTS = 3
SOFT_LIMIT_S = 3  # only poison in this module: no real grading has to fit in it
GONE = "lab-whose-toml-was-deleted"
WORKER_NUMBERS = itertools.count(100)

# Loaded by the worker's interpreter at start-up (sitecustomize on its PYTHONPATH), before
# submissions.services imports grade(): a grader bug that hits one file name only.
GRADER_BUG = textwrap.dedent(
    """
    import engine.grading

    _grade = engine.grading.grade

    def grade(*, files, **kwargs):
        if any(f.name == "crash_the_grader.py" for f in files):
            raise RuntimeError("a bug in the grader")
        return _grade(files=files, **kwargs)

    engine.grading.grade = grade
    """
)


@pytest.fixture(scope="module")
def stack():
    running = Stack(
        f"poison_{os.getpid()}",
        ARTIFACTS / "poison-logs",
        own_redis=True,
        GRADING_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        GRADING_SOFT_TIME_LIMIT=str(SOFT_LIMIT_S),
        GRADING_TIME_LIMIT="10",  # and a lease of 12 s
        GRADING_LEASE_MARGIN_S="2",
        GRADING_RETRY_DELAY_S="1",
        SWEEP_EVERY_S="2",
        LABGRADER_SLOT_UID_BASE="65200",
    ).start(workers=0)
    running.start_beat()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def assignment_id(stack) -> int:
    out = stack.shell(
        "from submissions.models import Assignment\nprint('ID', Assignment.objects.get(spec='s3-content-manager').pk)"
    )
    return int(next(line for line in out.splitlines() if line.startswith("ID ")).split()[1])


@pytest.fixture
def worker(stack):
    """Start one worker with the given settings; stopped at the end of the test."""
    started = []

    def start(**env: str):
        started.append(stack.start_worker(next(WORKER_NUMBERS), **env))
        return started[-1]

    yield start
    for process in started:
        if process in stack.workers:
            stack.kill_worker(process, sig=15)


def write(tmp_path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


def rows(stack, ids: list[int]) -> dict[int, dict]:
    out = stack.shell(
        "import json\nfrom submissions.models import Submission\n"
        f"rows = Submission.objects.filter(pk__in={ids!r}).values('pk', 'status', 'times_graded', 'grading_attempts')\n"
        "print('JSON', json.dumps(list(rows)))"
    )
    found = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    return {row["pk"]: row for row in found}


def test_a_bug_in_the_grader_ends_not_gradable_after_a_bounded_number_of_attempts(
    stack, assignment_id, worker, tmp_path
):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(GRADER_BUG)
    worker(PYTHONPATH=f"{hooks}:{REPO}")
    alice = stack.client("alice")
    poison = alice.upload(assignment_id, write(tmp_path, "crash_the_grader.py", "print('hi')\n"))

    status = alice.wait_until_finished(poison, timeout=60)
    assert status["status"] == "not_gradable" and status["score"] is None
    assert "RuntimeError: a bug in the grader" in status["problem"]
    assert "does not count as an attempt" in status["problem"]
    page = alice.get(f"/submissions/{poison}/").text
    assert "Not gradable" in page and "a bug in the grader" in page
    row = rows(stack, [poison])[poison]
    assert row["grading_attempts"] == MAX_ATTEMPTS and row["times_graded"] == 0


def test_the_soft_time_limit_ends_not_gradable_after_a_bounded_number_of_attempts(
    stack, assignment_id, worker, tmp_path
):
    worker()
    bob = stack.client("bob")
    slow = bob.upload(assignment_id, write(tmp_path, "slow.py", "import time\ntime.sleep(20)\n"))

    status = bob.wait_until_finished(slow, timeout=120)
    assert status["status"] == "not_gradable"
    assert f"the grader took longer than {SOFT_LIMIT_S} s (SoftTimeLimitExceeded)" in status["problem"]
    assert rows(stack, [slow])[slow]["grading_attempts"] == MAX_ATTEMPTS


def test_a_worker_killed_on_every_attempt_ends_not_gradable_once_the_sweep_has_counted_the_attempts(
    stack, assignment_id, worker, tmp_path
):
    # Killed mid-grading (as by the OOM killer or the hard time limit), a worker runs no
    # handler: the row stays RUNNING until its lease expires, and only the sweep can end it.
    worker()
    carol = stack.client("carol")
    doomed = carol.upload(assignment_id, write(tmp_path, "doomed.py", "import time\ntime.sleep(30)\n"))
    kills, deadline = 0, time.monotonic() + 150
    while not carol.get(f"/submissions/{doomed}/status/").json()["finished"]:
        assert time.monotonic() < deadline, f"still not finished after {kills} kills"
        victim = stack.worker_running_a_sandbox()
        if victim is None:
            time.sleep(0.2)
            continue
        assert kills < MAX_ATTEMPTS, "claimed again after its attempts were spent"
        stack.kill_worker(victim)  # kill -9 of the worker and its pool process
        kills += 1
        worker()
    status = carol.wait_until_finished(doomed, timeout=1)
    assert status["status"] == "not_gradable" and kills == MAX_ATTEMPTS
    assert f"never finished it in {MAX_ATTEMPTS} attempts" in status["problem"]
    assert rows(stack, [doomed])[doomed]["grading_attempts"] == MAX_ATTEMPTS


def test_an_assignment_whose_definition_vanished_ends_not_gradable_and_its_gradebook_still_works(
    stack, assignment_id, worker, tmp_path
):
    worker()
    out = stack.shell(
        "from submissions.models import Assignment\n"
        f"a = Assignment.objects.get(pk={assignment_id})\n"
        "a.pk = None\na.title = 'Lab 7'\na.save()\n"
        f"Assignment.objects.filter(pk=a.pk).update(spec={GONE!r})\n"
        "print('ID', a.pk)"
    )
    lab7 = int(next(line for line in out.splitlines() if line.startswith("ID ")).split()[1])
    alice = stack.client("alice")
    submission_id = alice.upload(lab7, SOLUTIONS / "correct_client.py")

    status = alice.wait_until_finished(submission_id, timeout=60)
    assert status["status"] == "not_gradable"
    assert GONE in status["problem"] and "definition" in status["problem"]
    assert rows(stack, [submission_id])[submission_id]["grading_attempts"] == 1
    ada = stack.client("ada")
    for path in (
        f"/assignments/{lab7}/gradebook/",
        f"/assignments/{lab7}/gradebook.csv",
        f"/submissions/{submission_id}/",
    ):
        assert ada.get(path).status_code == 200, path


def test_the_admin_refuses_an_assignment_that_names_no_definition(stack, assignment_id):
    admin = stack.client("admin")
    form = {
        "course": stack.shell("from submissions.models import Course\nprint(Course.objects.get().pk)").split()[-1],
        "spec": GONE,
        "title": "Lab 8",
        "late_policy": "penalty",
        "late_penalty_percent": "20",
        "counting": "best",
        "max_per_hour": "20",
    }
    response = admin.post("/admin/submissions/assignment/add/", form)
    assert response.status_code == 200 and "/admin/submissions/assignment/add/" in response.url
    assert "no assignment package" in response.text
    out = stack.shell(
        "from submissions.models import Assignment\nprint('COUNT', Assignment.objects.filter(title='Lab 8').count())"
    )
    assert "COUNT 0" in out.splitlines()
