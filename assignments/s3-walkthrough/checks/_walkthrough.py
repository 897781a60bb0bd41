"""What the lab's Step 3 walkthrough (manage_s3.py) expects, shared by its checks."""

from __future__ import annotations

from engine.record import RunRecord

BUCKET_PREFIX = "intern-boto3-lab-"
OBJECT_KEY = "hello-boto3.txt"
OBJECT_BODY = "Hello from Boto3!"


def expected_bucket(record: RunRecord) -> str:
    """The script reads the name with input(); the bucket is the prefix plus it, lowercased."""
    name = record.stdin.splitlines()[0] if record.stdin.strip() else ""
    return BUCKET_PREFIX + name.lower()


def walkthrough_bucket(record: RunRecord) -> str | None:
    """The expected bucket if the script created it, else the first bucket it created.

    Judging the upload and the listing in the bucket the script did create keeps
    one wrong name from costing all three checks.
    """
    created = [c.bucket for c in record.calls if c.operation == "CreateBucket" and c.ok and c.bucket]
    expected = expected_bucket(record)
    if expected in created:
        return expected
    return created[0] if created else None
