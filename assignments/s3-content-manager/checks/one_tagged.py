"""Tagging: exactly one audited object carries Project=Intern-Labs, set during upload."""

from checks.base import Verdict, failed, passed
from checks.evidence import calls_to, no_calls_verdict_text, run_problem, timeline
from engine.record import ObjectInfo, RunRecord
from engine.s3ops import UPLOAD_OPERATIONS

from ._lab import LAB_TAG, has_lab_tag

ID = "one_tagged"
NAME = "Tagging"
_HOW = (
    "Pass ExtraArgs={'Tagging': 'Project=Intern-Labs'} to upload_file"
    " (or Tagging='Project=Intern-Labs' to put_object) for one file."
)


def check(record: RunRecord) -> Verdict:
    if message := no_calls_verdict_text(record):
        return failed(message)
    line = timeline(record)
    objects = line.audited
    if len(objects) < 2:
        where = f"The bucket {line.target} never held" if line.target else "No bucket was created, so the run never had"
        return failed(
            f"{where} more than {len(objects)} object(s); tagging exactly one of several needs at least 2.",
            run_problem(record),
        )
    tagged = [key for key, obj in objects.items() if has_lab_tag(obj)]
    other_project = {
        key: obj.tags[LAB_TAG[0]] for key, obj in objects.items() if not has_lab_tag(obj) and LAB_TAG[0] in obj.tags
    }
    if len(tagged) > 1:
        every = "All" if len(tagged) == len(objects) else "These"
        return failed(
            f"{every} {len(tagged)} objects carry Project=Intern-Labs ({', '.join(tagged)}); only one should."
        )
    if not tagged:
        return failed(
            "No object carries the tag Project=Intern-Labs.", _near_miss(objects) or _failed_tagging(record), _HOW
        )
    if other_project:
        key, value = next(iter(other_project.items()))
        return failed(
            f"{tagged[0]} carries Project=Intern-Labs, but {key} also carries Project={value}; "
            "the other objects should carry no Project tag."
        )
    note = ""
    if not _tagged_during_upload(record, line.target, tagged[0]):
        note = (
            " Note: the tag was added by a later PutObjectTagging call, not during upload;"
            " the lab asks for it during upload (ExtraArgs={'Tagging': 'Project=Intern-Labs'})."
        )
    return passed(f"{tagged[0]} carries Project=Intern-Labs and the other objects carry no Project tag.{note}")


def _near_miss(objects: dict[str, ObjectInfo]) -> str:
    for key, obj in objects.items():
        for tag_key, value in obj.tags.items():
            if tag_key.lower() == "project" and value.lower() == "intern-labs":
                return (
                    f"Found {tag_key}={value} on {key} (case differs):"
                    " key and value must be exactly Project and Intern-Labs."
                )
            if tag_key == "Project":
                return f"Found Project={value} on {key}: the value must be Intern-Labs."
            if "project" in tag_key.lower() and "intern" in tag_key.lower() and not value:
                return f"Found tag key '{tag_key}' with an empty value on {key}: write Tagging='Project=Intern-Labs'."
            if tag_key.strip().lower() == "project":
                return f"Found tag key '{tag_key}' on {key}: the key must be exactly Project."
    found = [f"{k}={v} on {key}" for key, obj in objects.items() for k, v in obj.tags.items()]
    return f"Tags found instead: {', '.join(found[:3])}." if found else ""


def _failed_tagging(record: RunRecord) -> str:
    errors = [
        f"{c.operation} of {c.key} failed with {c.error_code or c.status}."
        for c in record.calls
        if not c.ok and (c.operation == "PutObjectTagging" or "tagging" in c.params)
    ]
    return " ".join(errors[:2])


def _tagged_during_upload(record: RunRecord, bucket: str | None, key: str) -> bool:
    return any(
        c.ok and c.bucket == bucket and c.key == key and c.params.get("tagging", {}).get(LAB_TAG[0]) == LAB_TAG[1]
        for operation in UPLOAD_OPERATIONS
        for c in calls_to(record, operation)
    ) or _copied_with_tags(record, bucket, key)


def _copied_with_tags(record: RunRecord, bucket: str | None, key: str) -> bool:
    # copy_object copies the source's tags: the tag still arrived with the upload.
    return any(
        c.ok and c.bucket == bucket and c.key == key and "tagging" not in c.params
        for c in calls_to(record, "CopyObject")
    )
