"""The state of every service but S3, read out of moto after each call that may change it.

A state probe reads one service's state out of moto as plain values: resources
(DynamoDB tables) described by a dict and holding entries (their items). The
recorder keeps the last state it saw per service and records each call's
difference from it as ServiceChanges (engine/record.py), as it records S3's Changes.

PROBES maps a service, as moto names its backend, to the dotted path of its built-in
probe, imported on first use (DynamoDB's ships). A service without a probe records no
state changes. A package adds one in its manifest (`[probes]`, docs/authoring.md): a
file of the package and a function in it, read by engine/assignments.py into a
PackageProbe. Its source travels with the run's request to the mock, and only the
run's fork, once confined (no network, a read-only root of Python only, the mock's
uid; engine/moto_zygote.py), compiles it and install()s it: the instructor's code never
runs in the grader or in the zygote. For that run it replaces the built-in probe of its
service, if there is one. S3 has no probe: its record is the grader's own.

A probe is called as probe(request, max_entries) and returns {resource: ResourceView}
for every resource of the service. `request` is the call's parameters as sent; a probe
may use them to read only the entries the call can have touched (a PutItem's one
item), which keeps a script writing thousands of items linear; None asks for
everything. After a partial read, a resource whose entry count moto reports differs
from what the recorder holds is read again in full, so a miss is corrected at the next
call at the latest.

A probe that raises (or that a package's file fails to define, or that returns anything
but {str: ResourceView}) does not stop the recording: the call is recorded, with no
service changes and `params.record_error` saying which probe failed and how; the
service's state stays as last seen, and the next probed call reads everything again.
"""

from __future__ import annotations

import importlib
import sys
import traceback
import types
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from engine.caps import cap_json, cap_text
from engine.record import ServiceChange, ServiceState, apply_service_change

PROBES: dict[str, str] = {"dynamodb": "engine.moto_internals:dynamodb_state"}
# The entries of one resource the record holds; past this a resource's description says
# how many were left out ("entries_cut"), and its item count stays exact.
MAX_ENTRIES = 2000
# Operations named like reads change nothing; every other operation (Unknown too) is
# followed by a probe. A read the rule misses costs a probe, never a missed change.
_READS = ("Describe", "List", "Get", "Scan", "Query", "BatchGet")
_ENTRY_ID_BYTES = 4096
# A package's probe file: far above any probe, and it travels in every run's request to the mock.
MAX_SOURCE_BYTES = 256 * 1024


@dataclass
class ResourceView:
    """One resource as a probe read it.

    complete: `entries` are all its entries (the first max_entries of them); otherwise only
    those the call may have touched, an entry that does not exist (any more) being None.
    """

    description: dict[str, Any]
    entries: dict[str, dict[str, Any] | None]
    complete: bool
    entry_count: int  # how many entries moto holds for it


Probe = Callable[[dict[str, Any] | None, int], dict[str, ResourceView]]
_loaded: dict[str, Probe] = {}


@dataclass(frozen=True)
class PackageProbe:
    """A package's probe of one service: `function` of the file at `path` in the package."""

    service: str
    path: str  # "probes/sqs.py"
    function: str
    source: str

    @property
    def name(self) -> str:
        return f"{self.path}:{self.function}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class ProbeFailed(Exception):
    """A package's probe could not be loaded, raised, or returned something else than views."""


_installed: dict[str, PackageProbe] = {}


def install(package_probes: Iterable[PackageProbe]) -> None:
    """Probe these services with the package's probes from now on, in this process.

    Only a run's mock fork calls this, after it has confined itself: the source is
    compiled on the first call that needs it, there."""
    for probe in package_probes:
        _installed[probe.service] = probe
        _loaded.pop(probe.service, None)


def may_change_state(operation: str) -> bool:
    return not operation.startswith(_READS)


def probe_for(service: str) -> Probe | None:
    if service in _loaded:
        return _loaded[service]
    if service in _installed:
        _loaded[service] = _load_package_probe(_installed[service])
    elif service in PROBES:
        module, _, name = PROBES[service].partition(":")
        _loaded[service] = getattr(importlib.import_module(module), name)
    else:
        return None
    return _loaded[service]


def _load_package_probe(probe: PackageProbe) -> Probe:
    module = types.ModuleType(f"labgrader_probe_{probe.service}")
    module.__file__ = probe.path
    sys.modules[module.__name__] = module  # dataclasses and the like look their module up
    try:
        exec(compile(probe.source, probe.path, "exec"), module.__dict__)  # noqa: S102 - confined: see install()
        function = getattr(module, probe.function)
        if not callable(function):
            raise TypeError(f"{probe.function} is not a function")
    except (Exception, SystemExit) as error:  # noqa: BLE001 - every call of the service says why, the run goes on
        reason = f"state probe {probe.name} could not be loaded: {_describe(error, probe.path)}"

        def unloadable(request: dict[str, Any] | None, max_entries: int) -> dict[str, ResourceView]:
            raise ProbeFailed(reason)

        return unloadable

    def guarded(request: dict[str, Any] | None, max_entries: int) -> dict[str, ResourceView]:
        try:
            views = function(request, max_entries)
        except (Exception, SystemExit) as error:  # noqa: BLE001 - named, then handled like any probe's failure
            raise ProbeFailed(f"state probe {probe.name} failed: {_describe(error, probe.path)}") from None
        if not _are_views(views):
            raise ProbeFailed(f"state probe {probe.name} returned {_shape(views)}, not {{resource: ResourceView}}")
        return views

    return guarded


def _describe(error: BaseException, path: str) -> str:
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == path]
    where = f" ({path}, line {lines[-1]})" if lines else ""
    return f"{type(error).__name__}: {error}{where}"


def _are_views(views: Any) -> bool:
    return isinstance(views, dict) and all(
        isinstance(resource, str)
        and isinstance(view, ResourceView)
        and isinstance(view.description, dict)
        and isinstance(view.entries, dict)
        and all(isinstance(e, str) and (v is None or isinstance(v, dict)) for e, v in view.entries.items())
        and isinstance(view.complete, bool)
        and isinstance(view.entry_count, int)
        for resource, view in views.items()
    )


def _shape(views: Any) -> str:
    if not isinstance(views, dict):
        return f"a {type(views).__name__}"
    return "a dict holding something else (each value must be a ResourceView of str entries, dicts or None)"


class ServiceStates:
    """The recorder's copy of each probed service's state, kept in step with moto's."""

    def __init__(self) -> None:
        self.states: ServiceState = {}
        self.stale: set[str] = set()  # a probe failed: read everything at the next call

    def changes(self, service: str, request: dict[str, Any] | None) -> list[ServiceChange]:
        probe = probe_for(service)
        if probe is None:
            return []
        state = self.states.setdefault(service, {})
        if service in self.stale:
            request = None
        self.stale.add(service)  # until the probe and the diff below have succeeded
        views = probe(request, MAX_ENTRIES)
        changes = _apply(state, views)
        if _out_of_step(state, views):
            changes += _apply(state, probe(None, MAX_ENTRIES))
        self.stale.discard(service)
        return changes

    def final(self, services: set[str]) -> ServiceState:
        """The exact state now of each of these services that has a probe."""
        final: ServiceState = {}
        for service in sorted(services):
            if probe := probe_for(service):
                final[service] = {}
                _apply(final[service], probe(None, MAX_ENTRIES))
        return final


def _apply(state: dict[str, dict[str, Any]], views: dict[str, ResourceView]) -> list[ServiceChange]:
    changes = [ServiceChange(resource) for resource in state if resource not in views]
    for resource, view in views.items():
        changes += _resource_changes(resource, state.get(resource), view)
    for change in changes:
        apply_service_change(state, change)
    return changes


def _resource_changes(resource: str, held: dict[str, Any] | None, view: ResourceView) -> list[ServiceChange]:
    entries = held["entries"] if held else {}
    seen = {cap_text(entry, _ENTRY_ID_BYTES): value for entry, value in view.entries.items()}
    changes = []
    if view.complete:  # what it no longer holds goes first, making room under the cap
        changes += [ServiceChange(resource, entry) for entry in entries if entry not in seen]
    kept = len(entries) - len(changes)
    for entry, value in seen.items():
        if value is None:
            if entry in entries:
                changes.append(ServiceChange(resource, entry))
                kept -= 1
        elif entry in entries or kept < MAX_ENTRIES:
            value = cap_json(value)
            kept += entry not in entries
            if entries.get(entry) != value:
                changes.append(ServiceChange(resource, entry, value))
    description = cap_json(view.description)
    if view.entry_count > kept:
        description["entries_cut"] = view.entry_count - kept
    if held is None or held["resource"] != description:
        changes.insert(0, ServiceChange(resource, None, description))
    return changes


def _out_of_step(state: dict[str, dict[str, Any]], views: dict[str, ResourceView]) -> bool:
    # Past the cap the count cannot be checked: which entries are held there is not specified.
    return any(
        not view.complete
        and view.entry_count <= MAX_ENTRIES
        and len(state.get(resource, {}).get("entries", {})) != view.entry_count
        for resource, view in views.items()
    )
