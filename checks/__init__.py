"""The library check modules are written with, and how they are run.

Each lab's checks live in its assignment package (assignments/<slug>/checks/,
imported by checks.packaged): one check per module, a pure function from a run
record to a Verdict. Here: Verdict (checks.base), questions about S3 runs
(checks.evidence), prose in the sources (checks.prose), and run_check(), which
turns a check that fails to import, raises or returns garbage into a failed
verdict naming it, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from checks.base import Verdict
from engine.record import RunRecord

Loader = Callable[[str], ModuleType]


class CheckCrashed(Exception):
    pass


def name_of(check_id: str, loader: Loader) -> str:
    try:
        return loader(check_id).NAME
    except Exception:  # noqa: BLE001 - a broken module still needs a label
        return check_id


def run_check(check_id: str, record: RunRecord, loader: Loader) -> tuple[Verdict, bool]:
    """(verdict, crashed). A crash is the grader's fault, reported as such.

    loader: finds the check module (Assignment.load_check: the package's own).
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
