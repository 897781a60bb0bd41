"""The run record: everything the checks may look at, and nothing else.

It serialises to JSON so the service can store it and re-run the checks later
without executing the script again.

This is the record API that check modules (the grader's and assignment
packages') read; docs/authoring.md documents it. RECORD_API_VERSION says which
fields exist: 1, S3 only; 2 adds every other service the mock serves (Call.service,
Call.resources, Call.service_changes, RunRecord.final_services, RunRecord.input_files). A record stored
under version 1 loads with those at their defaults (S3, nothing else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from engine import fidelity


@dataclass
class ObjectInfo:
    size: int
    tags: dict[str, str] = field(default_factory=dict)
    # "utf-8", "utf-16" or "binary": the checks need to say *why* a body is not text.
    encoding: str = "utf-8"
    preview: str = ""


@dataclass
class Change:
    """One difference in S3 state caused by a call.

    key None: the bucket itself was created (created=True) or deleted.
    key set: the object now looks like `obj`, or was deleted (obj None).
    """

    bucket: str
    key: str | None = None
    created: bool = False
    obj: ObjectInfo | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        obj = data.get("obj")
        return cls(
            bucket=data["bucket"],
            key=data.get("key"),
            created=data.get("created", False),
            obj=ObjectInfo(**obj) if obj else None,
        )


RECORD_API_VERSION = 2


@dataclass
class ServiceChange:
    """One difference in a non-S3 service's state caused by a call (S3's are Changes).

    A service's state is resources (a DynamoDB table) holding entries (its items):
    - entry None: the resource itself now looks like `value` (a dict its state probe
      describes it with, e.g. a table's key schema and billing mode), or was deleted
      (value None), and with it every entry;
    - entry set: that entry now looks like `value` (an item: attribute -> {type: value},
      as DynamoDB's wire format writes it), or was deleted (value None).
    """

    resource: str
    entry: str | None = None
    value: dict[str, Any] | None = None


# service -> resource -> {"resource": its description (dict), "entries": {entry: value}}
ServiceState = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Call:
    seq: int
    operation: str
    method: str
    path: str
    status: int
    bucket: str | None = None
    key: str | None = None
    query: str = ""
    error_code: str | None = None
    # The request parameters that matter to the checks: tagging, body_size, copy_source, ...
    params: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    t: float = 0.0
    # Where the call falls in RunRecord.stdout (a character index): everything before
    # stdout_before was printed before the script sent the call, everything from
    # stdout_after on was printed after the mock answered it. Causal, not clocks:
    # see engine/stdout_probe.py. None in records made before these existed.
    stdout_before: int | None = None
    stdout_after: int | None = None
    # Set when moto accepted a call real S3 refuses: the reason and the error code, in
    # one sentence (engine/fidelity.py). Derived from the fields above, never recorded by moto.
    aws_would_refuse: str | None = None
    # The AWS service the mock dispatched the call to, as moto and botocore name it ("s3", "dynamodb").
    service: str = "s3"
    # What the call named, by the service's own parameter names: {"TableName": "inventory-alice"}.
    # S3 calls keep theirs in bucket and key.
    resources: dict[str, str] = field(default_factory=dict)
    # A non-S3 service's state changes made by this call; S3's stay in `changes`.
    service_changes: list[ServiceChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Call:
        data = dict(data)
        data["changes"] = [Change.from_dict(c) for c in data.get("changes", [])]
        data["service_changes"] = [ServiceChange(**c) for c in data.get("service_changes", [])]
        return cls(**data)


@dataclass
class RunRecord:
    exit_code: int | None
    timed_out: bool
    duration_s: float
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    oom_killed: bool = False  # the run went over its memory budget and the kernel killed a process
    memory_scope: str = "process"  # "run" when one budget bounded all its processes (a cgroup)
    calls: list[Call] = field(default_factory=list)
    # Calls past the recording cap are counted, not detailed; the final state stays exact.
    calls_dropped: int = 0
    final_state: dict[str, dict[str, ObjectInfo]] = field(default_factory=dict)
    # The exact final state of every other service the mock served (see ServiceState).
    final_services: ServiceState = field(default_factory=dict)
    # Set when the mock had to be stopped (over its budget, or busy past the run):
    # the calls recorded until then are graded, and this says why there are no more.
    mock_incident: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    # The other text files the run started with in its working directory (a provided
    # inventory.csv, or the student's own copy): name -> text, each at most 64 KiB.
    input_files: dict[str, str] = field(default_factory=dict)
    entry_point: str = ""
    stdin: str = ""
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        return self.stdout_truncated or self.stderr_truncated

    def to_dict(self) -> dict[str, Any]:
        """What dataclasses.asdict makes of it, without asdict's deepcopy of every leaf:
        a record's leaves are strings, numbers and None, so rebuilding its containers is
        copy enough. A tenth of the grader's own CPU per grading went to asdict."""
        return plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        # Marked again on loading: a record stored before a fidelity rule existed gets it on re-check.
        data["calls"] = fidelity.annotate([Call.from_dict(c) for c in data.get("calls", [])])
        data["final_state"] = {
            bucket: {key: ObjectInfo(**obj) for key, obj in objects.items()}
            for bucket, objects in data.get("final_state", {}).items()
        }
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        return cls.from_dict(json.loads(text))


def plain(value: Any) -> Any:
    """Dataclasses as dicts, and every list, tuple and dict rebuilt, as asdict does."""
    if type(value) in _ATOMS:  # most of a record: answered before the costlier tests below
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, tuple):
        items = [plain(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_ATOMS = frozenset({str, int, float, bool, type(None), bytes})


def apply_change(state: dict[str, dict[str, ObjectInfo]], change: Change) -> None:
    """One recorded change, applied to the state the way S3 applied it."""
    if change.key is None:
        if change.created:
            state.setdefault(change.bucket, {})
        else:
            state.pop(change.bucket, None)
    elif change.obj is None:
        state.get(change.bucket, {}).pop(change.key, None)
    else:
        state.setdefault(change.bucket, {})[change.key] = change.obj


def state_after(calls: list[Call]) -> dict[str, dict[str, ObjectInfo]]:
    """The S3 state the calls' recorded changes add up to."""
    state: dict[str, dict[str, ObjectInfo]] = {}
    for call in calls:
        for change in call.changes:
            apply_change(state, change)
    return state


def apply_service_change(state: dict[str, dict[str, Any]], change: ServiceChange) -> None:
    """One recorded change, applied to one service's state (resource -> description and entries)."""
    if change.entry is None:
        if change.value is None:
            state.pop(change.resource, None)
        else:
            state.setdefault(change.resource, {"resource": {}, "entries": {}})["resource"] = change.value
        return
    entries = state.setdefault(change.resource, {"resource": {}, "entries": {}})["entries"]
    if change.value is None:
        entries.pop(change.entry, None)
    else:
        entries[change.entry] = change.value


def service_state_after(calls: list[Call], service: str) -> dict[str, dict[str, Any]]:
    """One service's state the calls' recorded changes add up to."""
    state: dict[str, dict[str, Any]] = {}
    for call in calls:
        if call.service == service:
            for change in call.service_changes:
                apply_service_change(state, change)
    return state
