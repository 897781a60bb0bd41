"""Questions the checks ask of a run record ("what did the bucket hold then?").

Pure functions over the record: the record is built outside the sandbox from
what moto saw, so nothing here trusts the script's own files or claims.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.record import Call, ObjectInfo, RunRecord
from engine.s3ops import LISTING_OPERATIONS

State = dict[str, dict[str, ObjectInfo]]
LAB_TAG = ("Project", "Intern-Labs")
_IGNORED_OPERATIONS = {"NonS3", "MotoApi", "RefusedService"}


def replay(record: RunRecord) -> Iterator[tuple[Call, State]]:
    """Each call with the S3 state right after it. The state is live: copy what you keep."""
    state: State = {}
    for call in record.calls:
        for change in call.changes:
            if change.key is None:
                if change.created:
                    state.setdefault(change.bucket, {})
                else:
                    state.pop(change.bucket, None)
            elif change.obj is None:
                state.get(change.bucket, {}).pop(change.key, None)
            else:
                state.setdefault(change.bucket, {})[change.key] = change.obj
        yield call, state


@dataclass
class Timeline:
    """One pass over the record, shared by the checks."""

    created: list[str] = field(default_factory=list)  # buckets, in creation order
    peak: dict[str, int] = field(default_factory=dict)  # most objects held at once
    fullest: dict[str, dict[str, ObjectInfo]] = field(default_factory=dict)  # at the last peak
    # Successful listings: (call, what the listed bucket held at that moment).
    listings: list[tuple[Call, dict[str, ObjectInfo]]] = field(default_factory=list)

    @property
    def target(self) -> str | None:
        """The bucket that held the most objects at once; ties go to the first created."""
        if not self.created:
            return None
        return max(self.created, key=lambda b: (self.peak.get(b, 0), -self.created.index(b)))

    @property
    def audited(self) -> dict[str, ObjectInfo]:
        return self.fullest.get(self.target, {}) if self.target else {}


def timeline(record: RunRecord) -> Timeline:
    result = Timeline()
    for call, state in replay(record):
        for change in call.changes:
            if change.created and change.bucket not in result.created:
                result.created.append(change.bucket)
        for bucket in result.created:
            objects = state.get(bucket)
            if objects is not None and len(objects) >= result.peak.get(bucket, 0) and call.changes:
                result.peak[bucket] = len(objects)
                result.fullest[bucket] = dict(objects)
        if call.operation in LISTING_OPERATIONS and call.ok and call.bucket in state:
            result.listings.append((call, dict(state[call.bucket])))
    return result


def s3_calls(record: RunRecord) -> list[Call]:
    return [c for c in record.calls if c.operation not in _IGNORED_OPERATIONS]


def calls_to(record: RunRecord, operation: str, bucket: str | None = None) -> list[Call]:
    return [c for c in record.calls if c.operation == operation and (bucket is None or c.bucket == bucket)]


def has_lab_tag(obj: ObjectInfo) -> bool:
    return obj.tags.get(LAB_TAG[0]) == LAB_TAG[1]


def run_problem(record: RunRecord) -> str:
    """The run's own error, in a sentence, or '' when it ended normally."""
    if record.timed_out:
        return f"The script was stopped at the time limit ({record.limits.get('wall_s', 30):g} s)."
    if record.oom_killed:
        memory = record.limits.get("memory_mib", 512)
        return f"The script went over its {memory} MiB of memory and was killed (MemoryError or SIGKILL)."
    if record.exit_code in (0, None):
        return ""
    error = last_error(record.stderr)
    if record.exit_code > 128 and not error:
        return f"The script was killed (signal {record.exit_code - 128})."
    detail = f": {error}" if error else ""
    return f"The script exited with status {record.exit_code}{detail}"


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b")


def last_error(stderr: str) -> str:
    """The exception a traceback ended with, name included, even when its message spans lines."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    start = next((i for i in range(len(lines) - 1, -1, -1) if _EXCEPTION_LINE.match(lines[i])), len(lines) - 1)
    text = lines[start] if start == len(lines) - 1 else f"{lines[start]} {lines[-1]}"
    return text[:300]


def no_calls_verdict_text(record: RunRecord) -> str | None:
    """Feedback for a run that never talked to S3, or None if it did."""
    if s3_calls(record):
        return None
    problem = run_problem(record)
    return "The script made no S3 call at all." + (f" {problem}" if problem else "")


def describe_objects(objects: dict[str, ObjectInfo]) -> str:
    return ", ".join(f"{key} ({obj.size} bytes)" for key, obj in objects.items())


def dropped_note(record: RunRecord) -> str:
    if not record.calls_dropped:
        return ""
    return (
        f"(Only the first {len(record.calls)} S3 calls were recorded in detail;"
        f" {record.calls_dropped} more were counted.)"
    )


def shows_size(stdout_lines: list[str], key: str, size: int) -> bool:
    """The key printed with its exact size on the same line or one of the next two."""
    number = re.compile(rf"(?<![\w.]){size}(?!\d|\.\d)")
    for index, line in enumerate(stdout_lines):
        if key not in line:
            continue
        window = [line.replace(key, " ")] + stdout_lines[index + 1 : index + 3]
        if any(number.search(text) for text in window):
            return True
    return False
