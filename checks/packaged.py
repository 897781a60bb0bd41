"""Check modules that live in an assignment package (assignments/<slug>/checks/).

A module whose name starts with "_" is a helper, not a check; modules share
helpers with relative imports (`from . import _inventory`). Each check module
defines ID, NAME and `check(record) -> Verdict`, and reads the run record
through engine.record (the record API) and checks.base.

The grader never imports a package's modules: they are the instructor's code
and run confined (engine/check_host.py). Here: what can be read of them
without running them (their ids, their declared names), and load_check(),
which imports one in this process: for the labs' own unit tests only.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_PREFIX = "labgrader_package_checks_"


def package_name(checks_dir: Path) -> str:
    """The import name of a package's checks folder: one per folder path."""
    digest = hashlib.sha256(str(checks_dir.resolve()).encode()).hexdigest()[:16]
    return _PREFIX + digest


def import_checks_package(checks_dir: Path) -> str:
    name = package_name(checks_dir)
    if name not in sys.modules:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(checks_dir.resolve())]
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
    return name


def load_check(checks_dir: Path, check_id: str) -> ModuleType:
    """The check module checks_dir/<check_id>.py, imported once per process (tests only)."""
    if not check_id.isidentifier() or check_id.startswith("_"):
        raise KeyError(f"{check_id!r} is not a check module name")
    if not (checks_dir / f"{check_id}.py").is_file():
        raise KeyError(f"no check module {check_id}.py in {checks_dir}")
    return importlib.import_module(f"{import_checks_package(checks_dir)}.{check_id}")


def check_ids(checks_dir: Path) -> list[str]:
    """The check modules of a package's checks folder."""
    return sorted(p.stem for p in checks_dir.glob("*.py") if not p.stem.startswith("_") and p.stem.isidentifier())


def declared_name(checks_dir: Path, check_id: str) -> str:
    """The module's `NAME = "..."`, read without running it; the id if it declares none."""
    try:
        tree = ast.parse((checks_dir / f"{check_id}.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return check_id
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == "NAME" for target in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value[:200]
    return check_id
