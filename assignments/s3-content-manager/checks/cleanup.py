"""Cleanup: the objects were listed and deleted, then the bucket; nothing is left."""

from checks.base import Verdict, failed, passed
from checks.evidence import calls_to, no_calls_verdict_text, run_problem, timeline
from engine.record import Call, RunRecord

ID = "cleanup"
NAME = "Cleanup"
NAMED_LEFTOVERS = 5


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    line = timeline(record)
    bucket = line.target
    if bucket is None:
        return failed("No bucket was created, so there was nothing to clean up.", run_problem(record))
    if not line.peak.get(bucket):
        return failed(f"The bucket {bucket} never held any objects, so there was nothing to clean up.")
    problems = _leftovers(record, [name for name in line.created if name in record.final_state])
    first_listing = next((call.seq for call, count in line.listed if call.bucket == bucket and count), None)
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


def _leftovers(record: RunRecord, buckets: list[str]) -> list[str]:
    """One sentence per bucket left behind, the first few named: a run may leave thousands."""
    last_failure = {c.bucket: c for c in calls_to(record, "DeleteBucket") if not c.ok}
    problems = [_leftover(record, bucket, last_failure.get(bucket)) for bucket in buckets[:NAMED_LEFTOVERS]]
    if len(buckets) > NAMED_LEFTOVERS:
        problems.append(f"{len(buckets) - NAMED_LEFTOVERS} more buckets created during the run still exist.")
    return problems


def _leftover(record: RunRecord, bucket: str, failure: Call | None) -> str:
    count = len(record.final_state[bucket])
    still = f"Bucket {bucket} still exists with {count} object{'s' if count != 1 else ''}"
    if failure:
        return f"{still}: DeleteBucket failed with {failure.error_code or failure.status}."
    return f"{still}: DeleteBucket was never called on it."
