"""Walkthrough: the bucket is listed through S3 after the upload, and the key is printed."""

from checks.base import Verdict, failed, passed
from checks.evidence import no_calls_verdict_text, run_problem, timeline
from engine.record import RunRecord

from ._walkthrough import OBJECT_KEY, walkthrough_bucket

ID = "walkthrough_listing"
NAME = "List the objects"


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    bucket = walkthrough_bucket(record)
    if bucket is None:
        return failed("No bucket was created, so there was nothing to list.", run_problem(record))
    listed = bool(timeline(record).listings_holding(bucket, [OBJECT_KEY]))
    printed = any(OBJECT_KEY in line for line in record.stdout.splitlines())
    if listed and printed:
        return passed(f"Listed {bucket} through S3 and printed {OBJECT_KEY}.")
    problems = []
    if not listed:
        problems.append(f"{bucket} was never listed through S3 (bucket.objects.all()) after {OBJECT_KEY} was uploaded.")
    if not printed:
        problems.append(f"stdout never shows the key {OBJECT_KEY}.")
    return failed(*problems, run_problem(record))
