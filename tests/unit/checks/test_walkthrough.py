from tests.labs import walkthrough as walkthrough_check
from tests.records import ScriptRun

walkthrough_bucket, walkthrough_listing, walkthrough_upload = (
    walkthrough_check("walkthrough_bucket"),
    walkthrough_check("walkthrough_listing"),
    walkthrough_check("walkthrough_upload"),
)

BUCKET = "intern-boto3-lab-alice"


def walkthrough(bucket=BUCKET, body="Hello from Boto3!", list_it=True) -> ScriptRun:
    run = ScriptRun()
    run.stdin = "Alice\n"
    run.create_bucket(bucket).put(bucket, "hello-boto3.txt", len(body), preview=body)
    if list_it:
        run.list(bucket, "ListObjects").prints(f"Objects in {bucket}:\n  hello-boto3.txt")
    return run


def test_all_three_pass_the_lab_walkthrough():
    record = walkthrough().record()
    assert walkthrough_bucket.check(record).passed
    assert walkthrough_upload.check(record).passed
    assert walkthrough_listing.check(record).passed


def test_the_bucket_name_comes_from_stdin_in_lower_case():
    verdict = walkthrough_bucket.check(walkthrough(bucket="intern-boto3-lab-Alice").record())
    assert not verdict.passed
    assert "No bucket named intern-boto3-lab-alice" in verdict.feedback


def test_a_failed_create_names_the_error_code():
    run = ScriptRun()
    run.stdin = "alice\n"
    run._call("CreateBucket", "PUT", BUCKET, status=409, error_code="BucketAlreadyExists")
    verdict = walkthrough_bucket.check(run.record())
    assert "failed with BucketAlreadyExists" in verdict.feedback


def test_the_upload_must_hold_the_lab_text():
    verdict = walkthrough_upload.check(walkthrough(body="Hello").record())
    assert not verdict.passed
    assert "holds 'Hello' (5 bytes)" in verdict.feedback


def test_the_listing_must_happen_through_s3():
    verdict = walkthrough_listing.check(walkthrough(list_it=False).prints("hello-boto3.txt").record())
    assert not verdict.passed
    assert "never listed through S3" in verdict.feedback


def test_a_wrong_bucket_name_costs_only_the_bucket_check():
    record = walkthrough(bucket="intern-boto3-lab-myname").record()
    assert not walkthrough_bucket.check(record).passed
    assert walkthrough_upload.check(record).passed
    assert walkthrough_listing.check(record).passed


def test_a_walkthrough_bucket_real_s3_refuses_fails_the_bucket_check_only():
    run = walkthrough(bucket="intern-boto3-lab-alice_smith")
    run.stdin = "Alice_Smith\n"
    record = run.record()
    verdict = walkthrough_bucket.check(record)
    assert not verdict.passed
    assert verdict.feedback == (
        "Real S3 refuses the bucket name intern-boto3-lab-alice_smith (underscores):"
        " CreateBucket would fail with InvalidBucketName."
    )
    assert walkthrough_upload.check(record).passed
    assert walkthrough_listing.check(record).passed
