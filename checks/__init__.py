"""Check modules: one check each, a pure function from a run record to a Verdict.

A registry maps check ids to modules, imported on first use; a check that
fails to import or raises becomes a failed verdict naming it, never a crash.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType

from checks.base import Verdict
from engine.record import RunRecord

REGISTRY: dict[str, str] = {
    "three_objects": "checks.three_objects",
    "one_tagged": "checks.one_tagged",
    "audit_output": "checks.audit_output",
    "cleanup": "checks.cleanup",
    "explains_empty_rule": "checks.explains_empty_rule",
    "walkthrough_bucket": "checks.walkthrough_bucket",
    "walkthrough_upload": "checks.walkthrough_upload",
    "walkthrough_listing": "checks.walkthrough_listing",
}


class CheckCrashed(Exception):
    pass


def load(check_id: str) -> ModuleType:
    if check_id not in REGISTRY:
        raise KeyError(f"unknown check {check_id!r}")
    return importlib.import_module(REGISTRY[check_id])


def name_of(check_id: str, loader: Callable[[str], ModuleType] = load) -> str:
    try:
        return loader(check_id).NAME
    except Exception:  # noqa: BLE001 - a broken module still needs a label
        return check_id


def run_check(check_id: str, record: RunRecord, loader: Callable[[str], ModuleType] = load) -> tuple[Verdict, bool]:
    """(verdict, crashed). A crash is the grader's fault, reported as such.

    loader: how the check module is found (an assignment package's own, Assignment.load_check).
    """
    try:
        verdict = loader(check_id).check(record)
        if not isinstance(verdict, Verdict):
            raise CheckCrashed(f"returned {type(verdict).__name__}, not a Verdict")
        return verdict, False
    except Exception as error:  # noqa: BLE001 - one broken check must not sink the others
        return Verdict(
            False,
            f"The check {check_id} itself failed ({type(error).__name__}: {error}). "
            "This is a grader error, not yours: staff can re-run the checks once it is fixed.",
        ), True
