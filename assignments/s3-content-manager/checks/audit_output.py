"""Audit: the script listed the bucket through S3, read the tagged object's tags,
and printed every object's key with its exact size, and the tag."""

from checks.base import Verdict, failed, passed
from checks.evidence import (
    calls_to,
    dropped_note,
    no_calls_verdict_text,
    run_problem,
    sizes_shown,
    timeline,
)
from engine.record import RunRecord
from engine.s3ops import UPLOAD_OPERATIONS

from ._lab import LAB_TAG, has_lab_tag

ID = "audit_output"
NAME = "Audit"


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    line = timeline(record)
    bucket, objects = line.target, line.audited
    if not objects:
        return failed("No bucket ever held objects, so there was nothing to audit.", run_problem(record))
    problems = []
    listings = line.listings_holding(bucket, objects)
    listed = bool(listings)
    if not listed:
        problems.append(
            f"The bucket {bucket} was never listed through S3 (list_objects_v2 or bucket.objects.all()) "
            "while all its objects existed."
        )
    problems.append(_tag_read_problem(record, bucket, objects))
    sizes = sizes_shown(record.stdout.splitlines(), objects)
    missing = [f"{key} ({obj.size} bytes)" for key, obj in objects.items() if key not in sizes.shown]
    if missing:
        problems.append(f"stdout never shows the size of {', '.join(missing)} next to its key.")
        problems.append(sizes.note)
    problems.append(_printed_too_early(record, listings, objects, missing))
    if not _shows_tag(record.stdout, objects, record, bucket):
        problems.append("stdout does not show the tag Project / Intern-Labs.")
    problems = [p for p in problems if p]
    if problems:
        if listed and missing and len(missing) == len(objects):
            problems.insert(0, "The bucket was listed but the sizes were not printed.")
        elif not listed and not missing:
            problems.insert(0, "The sizes were printed but the bucket was never listed through S3.")
        truncated = " (stdout was cut at the output limit.)" if record.stdout_truncated else ""
        return failed(*problems, truncated, dropped_note(record), run_problem(record))
    return passed(f"Listed {bucket} through S3, read the tags, and printed all {len(objects)} keys with their sizes.")


def _printed_too_early(record: RunRecord, listings: list, objects: dict, missing: list[str]) -> str:
    """Sizes count only if printed after a listing had returned (the spec's order rule)."""
    answered = [call.stdout_after for call in listings if call.stdout_after is not None]
    if not answered:
        return ""  # never listed (said above), or a record from before stdout positions existed
    first = min(answered)
    after, not_shown = sizes_shown(record.stdout[first:].splitlines(), objects), set(missing)
    early = [
        f"{key} ({obj.size} bytes)"
        for key, obj in objects.items()
        if f"{key} ({obj.size} bytes)" not in not_shown and key not in after.shown
    ]
    if not early:
        return ""
    call = next(c for c in listings if c.stdout_after == first)
    what = f"The size of {early[0]} was" if len(early) == 1 else f"The sizes of {', '.join(early)} were"
    return (
        f"{what} printed before the bucket was listed through S3 "
        f"(call #{call.seq}, {call.operation}): print the sizes from what the listing returned. {after.note}"
    ).strip()


def _shows_tag(stdout: str, objects: dict, record: RunRecord, bucket: str | None) -> bool:
    if LAB_TAG[0] in stdout and LAB_TAG[1] in stdout:
        return True
    if any(has_lab_tag(obj) for obj in objects.values()):
        return False
    # Nobody carries the exact tag (the Tagging check fails for that): printing
    # the tag the tagged object really carries still shows the audit skill.
    tagged = set(_keys_the_script_tagged(record, bucket))  # a key tagged again and again is asked once
    return any(
        key in stdout and value in stdout
        for name in tagged
        if name in objects
        for key, value in objects[name].tags.items()
    )


def _tag_read_problem(record: RunRecord, bucket: str | None, objects: dict) -> str:
    tagged = [key for key, obj in objects.items() if has_lab_tag(obj)] or _keys_the_script_tagged(record, bucket)
    reads = [c.key for c in calls_to(record, "GetObjectTagging", bucket) if c.ok and c.key in objects]
    if tagged:
        if not set(tagged).isdisjoint(reads):
            return ""
        if reads:
            return f"Tags of {reads[0]} were read, but the tagged file is {tagged[0]}."
        return f"The tags of {tagged[0]} were never read with get_object_tagging."
    # Nothing was tagged (the Tagging check says so): reading any object's tags shows the skill.
    return "" if reads else "No object's tags were read with get_object_tagging."


def _keys_the_script_tagged(record: RunRecord, bucket: str | None) -> list[str]:
    return [
        c.key
        for c in record.calls
        if c.bucket == bucket
        and c.key
        and c.params.get("tagging")
        and (c.operation in UPLOAD_OPERATIONS or c.operation == "PutObjectTagging")
    ]
