"""Walkthrough: the bucket intern-boto3-lab-<name> is created from the name read on stdin."""

from checks.base import Verdict, failed, passed
from checks.evidence import calls_to, no_calls_verdict_text, run_problem
from engine.record import RunRecord

from ._walkthrough import expected_bucket

ID = "walkthrough_bucket"
NAME = "Create the bucket"


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    bucket = expected_bucket(record)
    creates = calls_to(record, "CreateBucket")
    created = [c for c in creates if c.ok and c.bucket == bucket]
    if created and created[0].aws_would_refuse:
        return failed(created[0].aws_would_refuse)  # moto created it; real S3 would not have
    if created:
        return passed(f"Created {bucket} from the name read on stdin.")
    attempts = [c for c in creates if c.bucket == bucket]
    if attempts:
        return failed(
            f"CreateBucket {bucket} failed with {attempts[-1].error_code or attempts[-1].status}.", run_problem(record)
        )
    others = ", ".join(c.bucket or "?" for c in creates if c.ok)
    instead = f" Created instead: {others}." if others else ""
    return failed(
        f"No bucket named {bucket} was created: the name is 'intern-boto3-lab-' plus the name typed at the prompt, "
        f"in lower case.{instead}",
        run_problem(record),
    )
