"""Multi-upload: one run creates a bucket that holds three text objects at once."""

from checks.base import Verdict, failed, passed
from checks.evidence import calls_to, describe_objects, no_calls_verdict_text, run_problem, timeline
from engine.record import RunRecord

ID = "three_objects"
NAME = "Multi-upload"
EXPECTED = 3


def check(record: RunRecord) -> Verdict:
    verdict = _judge_what_happened(record)
    # A bucket real S3 would not have created fails the skill even where moto created it.
    refusals = list(dict.fromkeys(c.aws_would_refuse for c in calls_to(record, "CreateBucket") if c.aws_would_refuse))
    if refusals:
        return failed(*refusals[:3], "" if verdict.passed else verdict.feedback)
    return verdict


def _judge_what_happened(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    line = timeline(record)
    if not line.created:
        return failed("No bucket was created during the run.", _create_errors(record), run_problem(record))
    bucket, objects = line.target, line.audited
    count = len(objects)
    if count < EXPECTED:
        held = f" ({', '.join(objects)})" if objects else ""
        return failed(
            f"The bucket {bucket} held at most {count} object{'s' if count != 1 else ''}{held};",
            f"the lab asks for {EXPECTED}.",
            _upload_errors(record),
            run_problem(record),
        )
    if count > EXPECTED:
        return failed(
            f"{bucket} held {count} objects at once ({', '.join(objects)}); the lab asks for exactly {EXPECTED}."
        )
    not_text = [(key, obj.encoding) for key, obj in objects.items() if obj.encoding != "utf-8"]
    if not_text:
        return failed(
            *(f"{key} is not UTF-8 text (it looks like {_looks_like(enc)})." for key, enc in not_text),
            "Upload plain text files (write them with encoding='utf-8').",
        )
    return passed(f"Bucket {bucket} held {EXPECTED} text objects at once: {describe_objects(objects)}.")


def _looks_like(encoding: str) -> str:
    return "UTF-16" if encoding == "utf-16" else "binary data"


def _create_errors(record: RunRecord) -> str:
    errors = [
        f"CreateBucket {c.bucket} failed with {c.error_code or c.status}."
        for c in calls_to(record, "CreateBucket")
        if not c.ok
    ]
    return " ".join(errors[:3])


def _upload_errors(record: RunRecord) -> str:
    errors = [
        f"{c.operation} of {c.key} failed with {c.error_code or c.status}."
        for c in record.calls
        if c.operation in ("PutObject", "CreateMultipartUpload", "CopyObject") and not c.ok
    ]
    return " ".join(errors[:3])
