"""Upload through the web, graded by a real Celery worker over real Redis, seen in the gradebook."""

import csv
import io
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "examples"
SOLUTIONS = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "solutions"


def test_an_upload_is_graded_by_a_worker_and_shows_in_the_gradebook_and_csv(stack, assignment_ids):
    manager = assignment_ids["s3-content-manager"]
    alice = stack.client("alice")
    submission_id = alice.upload(manager, SOLUTIONS / "correct_client.py")

    status = alice.wait_until_finished(submission_id)
    assert status["status"] == "graded" and status["score"] == 10

    page = alice.get(f"/submissions/{submission_id}/").text
    assert "Multi-upload" in page and "CreateBucket" in page and "10/10" in page

    ada = stack.client("ada")
    gradebook = ada.get(f"/assignments/{manager}/gradebook/").text
    assert 'data-student="alice"' in gradebook and "10/10" in gradebook
    rows = {
        row["student"]: row
        for row in csv.DictReader(io.StringIO(ada.get(f"/assignments/{manager}/gradebook.csv").text))
    }
    assert rows["alice"]["score"] == "10" and rows["alice"]["cleanup"] == "pass"
    assert rows["bob"]["score"] == ""


def test_a_wrong_script_gets_its_feedback_and_a_queue_position_while_waiting(stack, assignment_ids):
    manager = assignment_ids["s3-content-manager"]
    bob = stack.client("bob")
    first = bob.upload(manager, EXAMPLES / "wrong_no_cleanup.py")
    status = bob.get(f"/submissions/{first}/status/").json()
    assert status["status"] in ("queued", "running", "graded")
    if status["status"] == "queued":
        assert status["queue_position"] >= 1
    final = bob.wait_until_finished(first)
    assert final["score"] == 8
    page = bob.get(f"/submissions/{first}/").text
    assert "DeleteBucket was never called on it" in page


def test_both_workers_take_part(stack, assignment_ids):
    manager = assignment_ids["s3-content-manager"]
    carol = stack.client("carol")
    ids = [carol.upload(manager, SOLUTIONS / "correct_resource.py") for _ in range(4)]
    for submission_id in ids:
        assert carol.wait_until_finished(submission_id)["score"] == 10
    graded_by = [name for name in ("worker0", "worker1") if "succeeded" in stack.log(name)]
    assert graded_by == ["worker0", "worker1"]
