"""Evidence that means what it says (issue 8): scripts that attack the record itself, run for real.

A naming attack makes the recorder call a request something moto did not do; a
crash attack makes the recorder fail on S3 state the script built; a record bomb
makes the record huge. Each is graded, and the grade rests on what moto did.
"""

import dataclasses
import os
from pathlib import Path

import pytest

from engine import runner
from engine.assignments import load
from engine.files import SubmittedFile
from engine.grading import grade
from engine.limits import Limits
from engine.s3ops import LISTING_OPERATIONS

CORRECT = (
    Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "solutions" / "correct_client.py"
).read_text()


def grade_source(source: str, **limits):
    assignment = dataclasses.replace(load("s3-content-manager"), limits=Limits(**{"wall_s": 20, **limits}))
    return grade(files=[SubmittedFile("main.py", source.encode())], assignment=assignment, username="mallory")


def verdict(report, check_id: str):
    return next(c for c in report.checks if c.id == check_id)


# Uploads three files (one tagged), never lists the bucket and never reads a tag
# through GetObjectTagging; instead it makes two calls an URL-reading recorder
# mistook for a listing and a tag read, then prints the sizes from its own files.
NAMING_ATTACK = """
import os, urllib.error, urllib.request
import boto3

s3 = boto3.client("s3")
bucket = "lab-names"
files = {"a.txt": b"alpha\\n", "b.txt": b"bravo!\\n", "t.txt": b"tagged file\\n"}
s3.create_bucket(Bucket=bucket)
for name, data in files.items():
    extra = {"Tagging": "Project=Intern-Labs"} if name == "t.txt" else {}
    s3.put_object(Bucket=bucket, Key=name, Body=data, **extra)

print("accelerate:", s3.get_bucket_accelerate_configuration(Bucket=bucket).get("Status"))
auth = ("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
url = os.environ["AWS_ENDPOINT_URL"] + "/" + bucket + "/t.txt?tagging&acl"
headers = {"Authorization": auth, "x-amz-date": "20260101T000000Z"}
try:
    urllib.request.urlopen(urllib.request.Request(url, headers=headers))
    print("ANSWERED")
except urllib.error.HTTPError as error:
    print("REFUSED", error.code, error.read().decode())

for name, data in files.items():
    print(f"{name}: {len(data)} bytes")
print("Project = Intern-Labs")
# A bucket must be empty before it can be deleted (BucketNotEmpty).
for name in files:
    s3.delete_object(Bucket=bucket, Key=name)
s3.delete_bucket(Bucket=bucket)
"""


@pytest.mark.usefixtures("run_script")
def test_a_naming_attack_is_recorded_as_what_moto_did_and_earns_no_audit():
    report = grade_source(NAMING_ATTACK)
    calls = report.record.calls
    assert "REFUSED 403" in report.record.stdout and "AmbiguousRequest" in report.record.stdout
    assert "ANSWERED" not in report.record.stdout
    operations = [c.operation for c in calls]
    assert "GetBucketAccelerateConfiguration" in operations
    refused = [c for c in calls if c.operation == "RefusedRequest"]
    assert [(c.status, c.error_code, c.key) for c in refused] == [(403, "AmbiguousRequest", "t.txt")]
    assert refused[0].params["subresources"] == ["acl", "tagging"]
    assert not [c for c in calls if c.operation in LISTING_OPERATIONS or c.operation == "GetObjectTagging"]
    audit = verdict(report, "audit_output")
    assert not audit.passed
    assert "never listed through S3" in audit.feedback and "never read" in audit.feedback


VERSIONED = CORRECT.replace(
    "    s3.create_bucket(Bucket=bucket_name)\n",
    "    s3.create_bucket(Bucket=bucket_name)\n"
    '    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})\n',
)


@pytest.mark.usefixtures("run_script")
def test_a_versioned_bucket_cleaned_up_like_the_lab_is_graded_and_the_mock_survives():
    assert VERSIONED != CORRECT
    report = grade_source(VERSIONED)
    record = report.record
    assert record.mock_incident is None
    assert [c.params["record_error"] for c in record.calls if "record_error" in c.params] == []
    # Deleting in a versioned bucket leaves delete markers and the old versions,
    # so S3 refuses to delete the bucket: the cleanup check says so, the rest stands.
    delete_bucket = [c for c in record.calls if c.operation == "DeleteBucket"]
    assert [c.error_code for c in delete_bucket] == ["BucketNotEmpty"]
    assert {c.id for c in report.checks if not c.passed} == {"cleanup"}


# 800 requests, each with two 60 KB headers of byte 0xFF (which JSON escapes to six bytes each).
# The copy source names the bucket, so moto answers NoSuchKey and the call is recorded.
RECORD_BOMB = """
import http.client
import boto3

boto3.client("s3").create_bucket(Bucket="lab-bomb")
auth = ("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
noise = "\\xff" * 60_000
conn = http.client.HTTPConnection("127.0.0.1", 4566, timeout=30)
answered = 0
for i in range(800):
    conn.request("PUT", f"/lab-bomb/k{i}", body=b"",
                 headers={"Authorization": auth, "x-amz-tagging": noise, "x-amz-copy-source": "lab-bomb/" + noise})
    conn.getresponse().read()
    answered += 1
print("answered", answered, flush=True)
"""


@pytest.mark.usefixtures("run_script")
def test_a_record_bomb_of_huge_0xff_headers_stays_small_and_is_graded(monkeypatch):
    sizes = []
    real_read = runner.read_call_record

    def measured_read(path, **kwargs):
        sizes.append(os.path.getsize(path))
        return real_read(path, **kwargs)

    monkeypatch.setattr(runner, "read_call_record", measured_read)
    report = grade_source(RECORD_BOMB, wall_s=60)
    record = report.record
    assert "answered 800" in record.stdout, record.stderr
    assert record.mock_incident is None
    assert sizes and sizes[0] < 4 * 1024 * 1024, f"the record is {sizes[0] / 2**20:.1f} MiB"
    assert len(record.calls) + record.calls_dropped == 801
    assert [c.operation for c in record.calls[:2]] == ["CreateBucket", "CopyObject"]
    assert report.score is not None
