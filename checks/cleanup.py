"""Cleanup: the objects were listed and deleted, then the bucket; nothing is left."""

from checks.base import Verdict, failed, passed
from checks.evidence import calls_to, no_calls_verdict_text, run_problem, timeline
from engine.record import RunRecord

ID = "cleanup"
NAME = "Cleanup"


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    line = timeline(record)
    bucket = line.target
    if bucket is None:
        return failed("No bucket was created, so there was nothing to clean up.", run_problem(record))
    if not line.peak.get(bucket):
        return failed(f"The bucket {bucket} never held any objects, so there was nothing to clean up.")
    problems = [_leftover(record, name) for name in line.created if name in record.final_state]
    first_listing = next((call.seq for call, held in line.listings if call.bucket == bucket and held), None)
    deletes = [c for c in calls_to(record, "DeleteBucket", bucket) if c.ok]
    if first_listing is None:
        problems.append(
            f"{bucket} was never listed through S3 while it held objects: "
            "cleanup() should list the objects and delete each one before the bucket."
        )
    elif deletes and deletes[-1].seq < first_listing:
        problems.append(f"{bucket} was deleted before its objects were ever listed.")
    if problems:
        return failed(*problems, run_problem(record))
    return passed(f"Listed {bucket}, emptied it and deleted it; no bucket was left behind.")


def _leftover(record: RunRecord, bucket: str) -> str:
    count = len(record.final_state[bucket])
    still = f"Bucket {bucket} still exists with {count} object{'s' if count != 1 else ''}"
    failures = [c for c in calls_to(record, "DeleteBucket", bucket) if not c.ok]
    if failures:
        return f"{still}: DeleteBucket failed with {failures[-1].error_code or failures[-1].status}."
    return f"{still}: DeleteBucket was never called on it."
