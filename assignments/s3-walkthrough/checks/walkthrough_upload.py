"""Walkthrough: hello-boto3.txt, holding "Hello from Boto3!", is uploaded to that bucket."""

from checks.base import Verdict, failed, passed
from checks.evidence import no_calls_verdict_text, replay, run_problem
from engine.record import ObjectInfo, RunRecord

from ._walkthrough import OBJECT_BODY, OBJECT_KEY, walkthrough_bucket

ID = "walkthrough_upload"
NAME = "Upload the file"


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    bucket = walkthrough_bucket(record)
    if bucket is None:
        return failed("No bucket was created, so there was nowhere to upload to.", run_problem(record))
    uploaded: ObjectInfo | None = None
    for _call, state in replay(record):
        uploaded = state.get(bucket, {}).get(OBJECT_KEY, uploaded)
    if uploaded is None:
        return failed(
            f"{OBJECT_KEY} was never uploaded to {bucket}: bucket.upload_file('hello.txt', '{OBJECT_KEY}').",
            run_problem(record),
        )
    if uploaded.preview.strip() != OBJECT_BODY:
        return failed(
            f"{OBJECT_KEY} holds {uploaded.preview[:60]!r} ({uploaded.size} bytes); "
            f"the lab writes {OBJECT_BODY!r} to hello.txt before uploading it."
        )
    return passed(f"{OBJECT_KEY} in {bucket} holds {OBJECT_BODY!r}.")
