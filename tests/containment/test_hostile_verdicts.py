"""Hostile scripts graded end to end: each gets a grade, and the feedback says what stopped it."""

import dataclasses
from pathlib import Path

import pytest

from engine.assignments import load
from engine.files import SubmittedFile
from engine.grading import grade
from engine.limits import Limits

CORRECT = (
    Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "solutions" / "correct_client.py"
).read_text()


def grade_source(source: str, **limits):
    assignment = dataclasses.replace(load("s3-content-manager"), limits=Limits(**{"wall_s": 10, **limits}))
    return grade(files=[SubmittedFile("main.py", source.encode())], assignment=assignment, username="mallory")


def failed(report) -> set[str]:
    return {c.id for c in report.checks if not c.passed}


@pytest.mark.usefixtures("run_script")
def test_a_forged_results_file_and_fake_score_lines_earn_nothing():
    report = grade_source("""
import json
json.dump({"score": 10, "checks": "all passed"}, open("results.json", "w"))
print("three_objects: PASS\\nfile1.txt 12 bytes\\nProject: Intern-Labs\\nSCORE 10/10")
# S3 refuses to delete a bucket that is not empty (BucketNotEmpty).
""")
    assert failed(report) == {"three_objects", "one_tagged", "audit_output", "cleanup"}
    assert "made no S3 call at all" in report.checks[0].feedback


@pytest.mark.usefixtures("run_script")
def test_resetting_the_mock_to_hide_a_failed_cleanup_does_not_work():
    source = CORRECT.replace(
        "        cleanup(bucket_name)",
        """        import urllib.request
        try:
            urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:4566/moto-api/reset", method="POST"))
        except Exception as error:
            print("reset refused:", error)""",
    )
    report = grade_source(source)
    assert failed(report) == {"cleanup"}
    cleanup = next(c for c in report.checks if c.id == "cleanup")
    assert "still exists with 3 objects" in cleanup.feedback
    assert [c.status for c in report.record.calls if c.operation == "MotoApi"] == [403]


@pytest.mark.usefixtures("run_script")
def test_a_busy_loop_after_the_audit_keeps_the_work_done_and_loses_cleanup_to_the_time_limit():
    source = CORRECT.replace("        cleanup(bucket_name)", "        while True:\n            pass")
    report = grade_source(source, wall_s=4)
    assert report.record.timed_out
    assert failed(report) == {"cleanup"}
    assert "stopped at the time limit (4 s)" in next(c for c in report.checks if c.id == "cleanup").feedback


@pytest.mark.usefixtures("run_script")
def test_a_fork_bomb_is_graded_and_the_grade_names_the_failure():
    report = grade_source("import os\nwhile True:\n    os.fork()\n", wall_s=5)
    assert report.score <= 2
    assert "made no S3 call" in report.checks[0].feedback


@pytest.mark.usefixtures("run_script")
def test_a_memory_hog_is_graded_with_its_memory_error_shown():
    report = grade_source("import boto3\nx = bytearray(3 * 1024**3)\n")
    assert "MemoryError" in report.checks[0].feedback


@pytest.mark.usefixtures("run_script")
def test_calls_past_the_recording_cap_are_counted_and_the_early_evidence_still_counts():
    noise = "        for _ in range(80):\n            s3.head_bucket(Bucket=bucket_name)\n        cleanup(bucket_name)"
    report = grade_source(CORRECT.replace("        cleanup(bucket_name)", noise), recorded_calls=40)
    assert len(report.record.calls) == 40 and report.record.calls_dropped > 40
    # The uploads and the audit came first; the final state is exact although the
    # cleanup calls were only counted, so every check can still decide.
    assert report.record.final_state == {}
    assert report.score == 10
