from tests.labs import lab06
from tests.records import ScriptRun, correct_run, uploads_three

check = lab06("three_objects").check


def test_it_passes_a_bucket_that_held_three_text_objects():
    verdict = check(correct_run().record())
    assert verdict.passed
    assert "a.txt (11 bytes)" in verdict.feedback


def test_it_passes_when_the_objects_are_deleted_later_because_the_peak_counts():
    run = uploads_three().empty_and_delete("lab-alice")
    assert check(run.record()).passed


def test_it_fails_two_objects_and_names_them():
    run = ScriptRun().create_bucket("lab-bob").put("lab-bob", "file1.txt").put("lab-bob", "file2.txt")
    verdict = check(run.record())
    assert not verdict.passed
    assert "held at most 2 objects (file1.txt, file2.txt); the lab asks for 3" in verdict.feedback


def test_it_fails_four_objects_at_once():
    run = uploads_three().put("lab-alice", "d.txt")
    verdict = check(run.record())
    assert not verdict.passed
    assert "4 objects at once" in verdict.feedback and "exactly 3" in verdict.feedback


def test_it_fails_three_uploads_of_the_same_key():
    run = ScriptRun().create_bucket("b").put("b", "same.txt").put("b", "same.txt").put("b", "same.txt")
    verdict = check(run.record())
    assert not verdict.passed
    assert "at most 1 object (same.txt)" in verdict.feedback


def test_it_fails_a_utf16_body_and_says_so():
    run = ScriptRun().create_bucket("b").put("b", "a.txt").put("b", "notes.txt", encoding="utf-16").put("b", "c.txt")
    verdict = check(run.record())
    assert not verdict.passed
    assert "notes.txt is not UTF-8 text (it looks like UTF-16)" in verdict.feedback


def test_it_fails_binary_data():
    run = ScriptRun().create_bucket("b").put("b", "a.txt").put("b", "b.txt").put("b", "img.png", encoding="binary")
    assert "img.png is not UTF-8 text (it looks like binary data)" in check(run.record()).feedback


def test_it_judges_the_fullest_bucket_not_a_scratch_bucket():
    run = uploads_three("lab-main").create_bucket("scratch").put("scratch", "x.txt")
    assert check(run.record()).passed


def test_it_reports_failed_uploads_and_the_crash_when_objects_are_missing():
    run = ScriptRun().create_bucket("b").put("b", "a.txt").put("nope", "b.txt").crashes("ClientError: NoSuchBucket")
    verdict = check(run.record())
    assert not verdict.passed
    assert "PutObject of b.txt failed with NoSuchBucket" in verdict.feedback
    assert "exited with status 1: ClientError: NoSuchBucket" in verdict.feedback


def test_it_fails_when_no_bucket_was_created_and_names_the_error():
    run = ScriptRun()._call("CreateBucket", "PUT", "Bad_Name", status=400, error_code="InvalidBucketName")
    verdict = check(run.record())
    assert not verdict.passed
    assert "No bucket was created" in verdict.feedback and "InvalidBucketName" in verdict.feedback


def test_it_fails_a_script_without_s3_calls_and_shows_its_error():
    run = ScriptRun().crashes("ModuleNotFoundError: No module named 'requests'")
    verdict = check(run.record())
    assert not verdict.passed
    assert "no S3 call at all" in verdict.feedback
    assert "No module named 'requests'" in verdict.feedback


def test_it_mentions_the_time_limit_when_the_script_was_stopped():
    run = ScriptRun().times_out()
    assert "stopped at the time limit (30 s)" in check(run.record()).feedback


def test_a_multi_line_exception_is_named_with_its_message():
    run = (
        ScriptRun()
        .create_bucket("b")
        .crashes(
            "botocore.exceptions.ParamValidationError: Parameter validation failed:\nInvalid type for parameter Delete"
        )
    )
    verdict = check(run.record())
    assert "ParamValidationError: Parameter validation failed: Invalid type for parameter Delete" in verdict.feedback


def test_a_bucket_name_real_s3_refuses_fails_with_the_specs_message_though_moto_accepted_it():
    verdict = check(uploads_three("Intern_Content_alice").record())
    assert not verdict.passed
    assert verdict.feedback == (
        "Real S3 refuses the bucket name Intern_Content_alice (upper-case letters and underscores):"
        " CreateBucket would fail with InvalidBucketName."
    )


def test_a_refused_name_and_a_wrong_count_are_both_reported():
    run = ScriptRun().create_bucket("Lab_Bob").put("Lab_Bob", "file1.txt")
    feedback = check(run.record()).feedback
    assert "Real S3 refuses the bucket name Lab_Bob" in feedback and "held at most 1 object" in feedback


def test_a_location_constraint_real_s3_refuses_fails_the_check_too():
    run = ScriptRun().create_bucket("lab-alice", region="us-east-1", location_constraint="eu-west-9")
    for key in ("a.txt", "b.txt", "c.txt"):
        run.put("lab-alice", key)
    verdict = check(run.record())
    assert not verdict.passed
    assert "LocationConstraint eu-west-9 (not an S3 region)" in verdict.feedback
    assert "InvalidLocationConstraint" in verdict.feedback
