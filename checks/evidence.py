"""Questions the checks ask of a run record ("what did the bucket hold then?").

Pure functions over the record: the record is built outside the sandbox from
what moto saw, so nothing here trusts the script's own files or claims.
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, islice
from typing import NamedTuple

from engine.record import Call, ObjectInfo, RunRecord, apply_change
from engine.s3ops import LISTING_OPERATIONS

State = dict[str, dict[str, ObjectInfo]]
# Requests moto never served (or that records before API version 2 named "NonS3"):
# they are no S3 call of the script. Calls to another served service have their own service.
_IGNORED_OPERATIONS = {"NonS3", "MotoApi", "RefusedService", "RefusedRequest"}


def _is_s3_call(call: Call) -> bool:
    return call.service == "s3" and call.operation not in _IGNORED_OPERATIONS


def replay(record: RunRecord) -> Iterator[tuple[Call, State]]:
    """Each call with the S3 state right after it. The state is live: copy what you keep."""
    return _replay(record.calls)


def _replay(calls: Iterable[Call]) -> Iterator[tuple[Call, State]]:
    state: State = {}
    for call in calls:
        for change in call.changes:
            apply_change(state, change)
        yield call, state


def _replay_bucket(calls: Iterable[Call], bucket: str) -> Iterator[tuple[Call, dict[str, ObjectInfo] | None]]:
    """Each call with what one bucket held right after it (None: it did not exist). Live, like replay."""
    state: State = {}
    for call in calls:
        for change in call.changes:
            if change.bucket == bucket:
                apply_change(state, change)
        yield call, state.get(bucket)


class Listing(NamedTuple):
    """A successful listing, and how many objects the listed bucket held when it was made."""

    call: Call
    count: int


@dataclass
class Timeline:
    """One pass over the record, shared by the checks: timeline() builds it once per record.

    The pass copies no state: a record of 5,000 calls may list a bucket of thousands
    of keys after every upload, so what a bucket held at a given moment is rebuilt on
    demand, for the one bucket a check asks about, by another linear pass.
    """

    calls: list[Call] = field(default_factory=list, repr=False)
    created: list[str] = field(default_factory=list)  # buckets, in creation order
    peak: dict[str, int] = field(default_factory=dict)  # most objects held at once
    # Index in calls of the last call after which the bucket held its peak.
    peak_at: dict[str, int] = field(default_factory=dict)
    listed: list[Listing] = field(default_factory=list)

    @cached_property
    def target(self) -> str | None:
        """The bucket that held the most objects at once; ties go to the first created."""
        return max(self.created, key=lambda bucket: self.peak.get(bucket, 0), default=None)

    @cached_property
    def audited(self) -> dict[str, ObjectInfo]:
        return self.held_at_peak(self.target) if self.target else {}

    def held_at_peak(self, bucket: str) -> dict[str, ObjectInfo]:
        """What the bucket held the last time it was at its fullest."""
        if bucket not in self.peak_at:
            return {}
        held = {}
        for _call, objects in _replay_bucket(islice(self.calls, self.peak_at[bucket] + 1), bucket):
            held = objects
        return dict(held or {})

    def listings_holding(self, bucket: str, keys: Iterable[str]) -> list[Call]:
        """The successful listings of the bucket made while it held every one of the keys."""
        wanted = set(keys)
        present: set[str] = set()  # the wanted keys it holds, kept up to date change by change
        found = []
        for call, objects in _replay_bucket(self.calls, bucket):
            _track_wanted(present, wanted, call, bucket, objects)
            if objects is not None and _is_listing(call, bucket) and len(present) == len(wanted):
                found.append(call)
        return found


def _track_wanted(present: set[str], wanted: set[str], call: Call, bucket: str, objects: dict | None) -> None:
    """Update which wanted keys the bucket holds after the call (objects: what it holds then)."""
    for change in call.changes:
        if change.bucket != bucket:
            continue
        if change.key is None:
            if not change.created:
                present.clear()  # the bucket went, and its objects with it
        elif change.key in wanted:
            if objects is not None and change.key in objects:
                present.add(change.key)
            else:
                present.discard(change.key)


def _is_listing(call: Call, bucket: str | None = None) -> bool:
    return call.operation in LISTING_OPERATIONS and call.ok and (bucket is None or call.bucket == bucket)


def _build_timeline(calls: list[Call]) -> Timeline:
    line = Timeline(calls=calls)
    created: set[str] = set()
    for index, (call, state) in enumerate(_replay(calls)):
        for change in call.changes:
            if change.created and change.bucket not in created:
                created.add(change.bucket)
                line.created.append(change.bucket)
        # Only a bucket this call changed can have reached a new peak.
        for bucket in {change.bucket for change in call.changes} & created:
            objects = state.get(bucket)
            if objects is not None and len(objects) >= line.peak.get(bucket, 0):
                line.peak[bucket] = len(objects)
                line.peak_at[bucket] = index
        if _is_listing(call) and call.bucket in state:
            line.listed.append(Listing(call, len(state[call.bucket])))
    return line


# Built once per record: every check asks for it, and a record is not changed once
# graded. Keyed by id(record); an entry goes when its record is collected.
_timelines: dict[int, tuple[list[Call], int, Timeline]] = {}


def timeline(record: RunRecord) -> Timeline:
    built = _timelines.get(id(record))
    if built and built[0] is record.calls and built[1] == len(record.calls):
        return built[2]
    line = _build_timeline(record.calls)
    if built is None:
        weakref.finalize(record, _timelines.pop, id(record), None)
    _timelines[id(record)] = (record.calls, len(record.calls), line)
    return line


def s3_calls(record: RunRecord) -> list[Call]:
    return [c for c in record.calls if _is_s3_call(c)]


def calls_to(record: RunRecord, operation: str, bucket: str | None = None) -> list[Call]:
    return [c for c in record.calls if c.operation == operation and (bucket is None or c.bucket == bucket)]


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
    if any(_is_s3_call(c) for c in record.calls):
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


class SizesShown(NamedTuple):
    shown: set[str]  # keys printed with their exact size, as shows_size() decides
    unsure: list[str]  # keys on more lines than the search could look at, none of those showing the size

    @property
    def note(self) -> str:
        if not self.unsure:
            return ""
        names = ", ".join(self.unsure[:3]) + (f" and {len(self.unsure) - 3} more" if len(self.unsure) > 3 else "")
        return f"({names} appear on so many lines that only the first of them were searched for the size.)"


# Key-line pairs looked at in one stdout, shared out among the keys. A lab prints
# each key on a few lines; a stdout that repeats thousands of keys on every line
# would otherwise cost seconds.
SIZE_SEARCH_BUDGET = 20_000


def sizes_shown(stdout_lines: list[str], objects: dict[str, ObjectInfo]) -> SizesShown:
    """shows_size() for many keys: stdout_lines come from str.splitlines().

    Asking shows_size() key by key walks every line and compiles a pattern for every
    key; here stdout is indexed once (see _StdoutIndex) and each key is found by
    str.find on the lines that hold it, each line searched for at most its share.
    """
    index = _StdoutIndex(stdout_lines)
    lines_per_key = max(10, SIZE_SEARCH_BUDGET // max(1, len(objects)))
    shown, unsure = set(), []
    for key, obj in objects.items():
        answer = index.shows_size(key, obj.size, lines_per_key)
        if answer:
            shown.add(key)
        elif answer is None:
            unsure.append(key)
    return SizesShown(shown, unsure)


# A whole number, as shows_size() matches one: a maximal run of digits, not after a
# letter, digit, underscore or dot, nor before a decimal part.
_WHOLE_NUMBER = re.compile(r"(?<![\w.])\d+(?!\d|\.\d)")
_DIGITS = re.compile(r"\d+")


class _StdoutIndex:
    """stdout joined once, and each line's numbers found once, for shows_size() over many keys."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.text = "\n".join(lines)
        self.starts = list(accumulate((len(line) + 1 for line in lines), initial=0))
        self._numbers: dict[int, tuple[set[str], dict[str, list[tuple[int, int]]]]] = {}

    def shows_size(self, key: str, size: int, limit: int) -> bool | None:
        """shows_size(), looking at `limit` lines that hold the key at most (None: none of those showed it)."""
        if not key or size < 0:
            return shows_size(self.lines, key, size)  # not a real key or size; keep one definition
        digits = str(size)
        if "\n" in key or digits not in self.text:
            return False  # no line holds a line break; a size line needs its digits, and removing the key adds none
        found = self.text.find(key)
        for _ in range(limit):
            if found == -1:
                return False
            index = bisect_right(self.starts, found) - 1
            if self._on_line(index, key, digits) or any(
                digits in self.numbers(next_line)[0] for next_line in range(index + 1, min(index + 3, len(self.lines)))
            ):
                return True
            found = self.text.find(key, self.starts[index + 1])
        return False if found == -1 else None

    def numbers(self, index: int) -> tuple[set[str], dict[str, list[tuple[int, int]]]]:
        """A line's whole numbers, and its other runs of digits with where they are."""
        if index not in self._numbers:
            line = self.lines[index]
            whole = {match.start(): match.group() for match in _WHOLE_NUMBER.finditer(line)}
            blocked: dict[str, list[tuple[int, int]]] = {}
            for run in _DIGITS.finditer(line):
                if run.start() not in whole:
                    blocked.setdefault(run.group(), []).append(run.span())
            self._numbers[index] = (set(whole.values()), blocked)
        return self._numbers[index]

    def _on_line(self, index: int, key: str, digits: str) -> bool:
        """The size as a whole number on the key's own line, the key taken out."""
        line = self.lines[index]
        if not _DIGITS.search(key):
            # Taking out a key without digits splits or joins no run of digits: the size is
            # a whole number already, or a run the key itself blocks (it ends just before
            # it, or starts just after it, on the dot of a decimal part).
            whole, blocked = self.numbers(index)
            if digits in whole:
                return True
            if not any(
                line.endswith(key, 0, start) or line.startswith(key, end) for start, end in blocked.get(digits, ())
            ):
                return False
        return digits in _WHOLE_NUMBER.findall(line.replace(key, " "))
