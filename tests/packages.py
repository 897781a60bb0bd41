"""Lab 07's package, trimmed for speed: each script costs a real sandbox run (~1 s)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine import package_store

LAB07 = Path(__file__).resolve().parent.parent / "assignments" / "dynamodb-inventory"


def trimmed_lab07(
    where: Path,
    *,
    solutions: dict[str, Path] | None = None,
    examples: dict[str, list[str]] | None = None,
    points: dict[str, int] | None = None,
) -> Path:
    """A copy of Lab 07 in where/dynamodb-inventory with the given solutions (default: client.py),
    the given examples of Lab 07 declared to fail the given checks, and checks' points changed."""
    package = where / "dynamodb-inventory"
    shutil.copytree(LAB07, package, ignore=shutil.ignore_patterns("__pycache__", "solutions", "examples"))
    (package / "solutions").mkdir()
    for name, source in (solutions or {"client.py": LAB07 / "solutions" / "client.py"}).items():
        shutil.copy(source, package / "solutions" / name)
    (package / "examples").mkdir()
    lines = ['assignment = "dynamodb-inventory"', 'username = "alice"']
    for name, fails in (examples or {}).items():
        shutil.copy(LAB07 / "examples" / name, package / "examples" / name)
        lines += ["[[example]]", f'path = "{name}"', 'description = "test"', f"fails = {json.dumps(fails)}"]
    (package / "examples" / "expected.toml").write_text("\n".join(lines) + "\n")
    manifest = package / "assignment.toml"
    for check_id, value in (points or {}).items():
        text = manifest.read_text()
        anchor = f'id = "{check_id}"\npoints = '
        start = text.index(anchor) + len(anchor)
        end = text.index("\n", start)
        manifest.write_text(text[:start] + str(value) + text[end:])
    return package


def zipped(package: Path) -> bytes:
    return package_store.zip_folder(package)
