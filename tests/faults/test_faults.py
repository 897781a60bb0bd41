"""Workers, Redis and the sandbox fail; every submission is still graded exactly once, or
marked not gradable without costing the student an attempt."""

import csv
import io
import json
import os
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "examples"
SOLUTIONS = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "solutions"
QUICK = 'import boto3\nboto3.client("s3").create_bucket(Bucket="burst-bucket")\nprint("done")\n'


def submissions_by_id(stack, ids: list[int]) -> dict[int, dict]:
    out = stack.shell(
        "import json\nfrom submissions.models import Submission\n"
        f"rows = Submission.objects.filter(pk__in={ids!r}).values('pk', 'status', 'times_graded', 'score', 'problem')\n"
        "print('JSON', json.dumps(list(rows)))"
    )
    rows = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    return {row["pk"]: row for row in rows}


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_killed_mid_grading_leaves_the_submission_to_another_graded_once(stack, assignment_id, tmp_path):
    slow = tmp_path / "slow_lab.py"
    slow.write_text("import time\ntime.sleep(4)\n" + (SOLUTIONS / "correct_client.py").read_text())
    alice = stack.client("alice")
    submission_id = alice.upload(assignment_id, slow)

    victim = wait_until(stack.worker_running_a_sandbox, 30, "a worker to start the sandbox")
    stack.kill_worker(victim)  # kill -9 of the whole worker: main process and pool child
    status = alice.wait_until_finished(submission_id, timeout=120)

    assert status["status"] == "graded" and status["score"] == 10
    assert submissions_by_id(stack, [submission_id])[submission_id]["times_graded"] == 1
    assert stack.worker_running_a_sandbox() is None
    stack.start_worker(2)


def test_redis_restarted_during_a_burst_of_200_loses_no_submission_and_grades_none_twice(
    stack, assignment_id, tmp_path
):
    script = tmp_path / "burst.py"
    script.write_text(QUICK)
    clients = [stack.client(name) for name in ("alice", "bob", "carol")]
    ids = []
    for index in range(200):
        ids.append(clients[index % 3].upload(assignment_id, script))
        if index == 100:
            stack.restart_redis()  # every message queued so far is lost

    def all_finished():
        rows = submissions_by_id(stack, ids)
        return rows if all(r["status"] in ("graded", "not_gradable") for r in rows.values()) else None

    rows = wait_until(all_finished, 420, "200 submissions to finish")
    assert len(rows) == 200
    assert all(r["status"] == "graded" for r in rows.values()), [r for r in rows.values() if r["status"] != "graded"]
    assert all(r["times_graded"] == 1 for r in rows.values())


@pytest.mark.parametrize(
    "broken",
    [
        {"LABGRADER_SANDBOX_RUNTIME": "/nonexistent-runtime"},  # the sandbox cannot start
        {"TMPDIR": "/tmp/" + "deep-" * 24},  # the moto server cannot start: its socket path is too long
        {"LABGRADER_WORK_DIR": "/proc/sys"},  # the job directory is unwritable
    ],
    ids=["sandbox-fails", "moto-fails", "unwritable-job-dir"],
)
def test_a_broken_worker_marks_submissions_not_gradable_and_they_do_not_count(stack, assignment_id, broken):
    if "TMPDIR" in broken:
        os.makedirs(broken["TMPDIR"], mode=0o755, exist_ok=True)
    ada, carol, admin = stack.client("ada"), stack.client("carol"), stack.client("admin")
    attempts_before = attempts(ada, assignment_id, "carol")
    for worker in list(stack.workers):
        stack.kill_worker(worker, sig=15)
    bad = stack.start_worker(10, **broken)
    try:
        ids = [carol.upload(assignment_id, SOLUTIONS / "correct_client.py") for _ in range(2)]
        for submission_id in ids:  # the queue keeps moving: neither is stuck
            status = carol.wait_until_finished(submission_id, timeout=90)
            assert status["status"] == "not_gradable" and status["score"] is None
            assert "does not count as an attempt" in status["problem"]
        page = carol.get(f"/submissions/{ids[0]}/").text
        assert "Not gradable" in page and "the grader failed" in page
        assert attempts(ada, assignment_id, "carol") == attempts_before
    finally:
        stack.kill_worker(bad, sig=15)
        stack.start_worker(11)
        stack.start_worker(12)
    admin.post(f"/submissions/{ids[0]}/rerun/", {"kind": "reexecute"})
    assert carol.wait_until_finished(ids[0], timeout=90)["score"] == 10
    assert attempts(ada, assignment_id, "carol") == attempts_before + 1


def attempts(instructor, assignment_id: int, username: str) -> int:
    rows = csv.DictReader(io.StringIO(instructor.get(f"/assignments/{assignment_id}/gradebook.csv").text))
    return int(next(row for row in rows if row["student"] == username)["attempts"])
