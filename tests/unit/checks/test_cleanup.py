from tests.labs import lab06
from tests.records import ScriptRun, audits, correct_run, uploads_three

check = lab06("cleanup").check


def test_it_passes_emptying_and_deleting_the_bucket():
    verdict = check(correct_run().record())
    assert verdict.passed, verdict.feedback


def test_it_fails_a_bucket_left_behind_after_bucket_not_empty():
    run = audits(uploads_three("lab-1234"), "lab-1234").delete_bucket("lab-1234")
    verdict = check(run.record())
    assert not verdict.passed
    assert "Bucket lab-1234 still exists with 3 objects: DeleteBucket failed with BucketNotEmpty." in verdict.feedback


def test_it_fails_a_script_that_never_cleans_up():
    run = audits(uploads_three())
    assert "DeleteBucket was never called on it" in check(run.record()).feedback


def test_it_fails_a_scratch_bucket_left_behind():
    run = correct_run().create_bucket("scratch")
    verdict = check(run.record())
    assert not verdict.passed
    assert "Bucket scratch still exists with 0 objects" in verdict.feedback


def test_it_fails_deleting_objects_by_known_keys_without_listing():
    run = uploads_three()
    for key in ("a.txt", "b.txt", "c.txt"):
        run.delete_object("lab-alice", key)
    run.delete_bucket("lab-alice")
    verdict = check(run.record())
    assert not verdict.passed
    assert "never listed through S3 while it held objects" in verdict.feedback


def test_it_fails_a_bucket_that_never_held_objects():
    run = ScriptRun().create_bucket("empty").delete_bucket("empty")
    assert "never held any objects" in check(run.record()).feedback


def test_it_reports_the_timeout_that_stopped_cleanup():
    run = audits(uploads_three()).times_out()
    verdict = check(run.record())
    assert not verdict.passed and "time limit" in verdict.feedback


def test_it_names_the_first_five_buckets_left_behind_and_counts_the_rest():
    run = correct_run()
    for index in range(2300):
        run.create_bucket(f"scratch-{index}")
    verdict = check(run.record())
    assert not verdict.passed
    assert "Bucket scratch-4 still exists with 0 objects" in verdict.feedback
    assert "scratch-5 " not in verdict.feedback
    assert "2295 more buckets created during the run still exist." in verdict.feedback
