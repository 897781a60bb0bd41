"""Assignments are data: which checks, their points, the stdin template, the limits.

Each is a package, a folder assignments/<slug>/ at the top of the repository:
a manifest, assignment.toml, and beside it instructions.md (optional), files/
(placed in the student's working directory), checks/ (the lab's check modules),
solutions/ (reference solutions, full marks each) and examples/ (wrong examples,
with examples/expected.toml naming the checks each must fail). docs/authoring.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from checks import packaged
from engine.files import SubmittedFile
from engine.limits import Limits

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"
MANIFEST = "assignment.toml"
VISIBILITIES = ("shown", "after_due")
# Provided files are data such as a CSV: a package that ships more is a mistake.
MAX_PROVIDED_BYTES = 1 << 20


class UnknownAssignment(LookupError):
    pass


@dataclass(frozen=True)
class CheckSpec:
    id: str
    points: int
    # "shown": the student sees this check's verdict at once; "after_due": only after the due date.
    visibility: str = "shown"


@dataclass(frozen=True)
class Assignment:
    slug: str
    title: str
    checks: tuple[CheckSpec, ...]
    stdin_template: str = "{username}\n"
    instructions: str = ""
    limits: Limits = field(default_factory=Limits)
    # The AWS services the run's mock serves; any other is refused before moto dispatches it.
    services: tuple[str, ...] = ("s3",)
    # The package's folder: its checks/, solutions/ and examples/.
    package_dir: Path | None = None
    # Placed in the student's working directory before the run; a submitted file of the same name wins.
    provided_files: tuple[SubmittedFile, ...] = ()

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)

    def stdin_for(self, username: str) -> str:
        return self.stdin_template.replace("{username}", username)

    def load_check(self, check_id: str) -> ModuleType:
        """The package's check module of that id, imported here: for unit tests of a lab's checks.
        Grading runs them confined (engine.grading.evaluate)."""
        if self.package_dir is None:
            raise KeyError(f"assignment {self.slug} has no package, so no check {check_id!r}")
        return packaged.load_check(self.package_dir / "checks", check_id)

    def check_name(self, check_id: str) -> str:
        """The check's NAME, read from its source without running it (pages label checks with it)."""
        if self.package_dir is None or not check_id.isidentifier():
            return check_id
        return packaged.declared_name(self.package_dir / "checks", check_id)

    def with_provided_files(self, files: list[SubmittedFile]) -> list[SubmittedFile]:
        """The files a run starts with: the provided ones, replaced by submitted ones of the same name."""
        submitted = {f.name for f in files}
        return [*(f for f in self.provided_files if f.name not in submitted), *files]


def available() -> list[str]:
    return sorted(path.parent.name for path in ASSIGNMENTS_DIR.glob(f"*/{MANIFEST}"))


def load(slug: str) -> Assignment:
    package = ASSIGNMENTS_DIR / slug
    if "/" in slug or slug.startswith(".") or not (package / MANIFEST).is_file():
        raise UnknownAssignment(f"unknown assignment {slug!r} (available: {', '.join(available())})")
    return load_package(package)


def load_package(package_dir: Path) -> Assignment:
    """An assignment package folder. ValueError says what is wrong with it."""
    package_dir = package_dir.resolve()
    manifest = package_dir / MANIFEST
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{manifest}: {error}") from error
    if "instructions" not in data and (package_dir / "instructions.md").is_file():
        data["instructions"] = (package_dir / "instructions.md").read_text(encoding="utf-8")
    return parse(data, package_dir=package_dir)


def parse(data: dict, package_dir: Path | None = None) -> Assignment:
    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        raise ValueError("the manifest needs a slug")
    if not isinstance(data.get("checks"), list) or not data["checks"]:
        raise ValueError(f"assignment {slug}: at least one [[checks]] entry is needed")
    specs = tuple(_check_spec(slug, entry) for entry in data["checks"])
    own = set(packaged.check_ids(package_dir / "checks")) if package_dir else set()
    unknown = [s.id for s in specs if s.id not in own]
    if unknown:
        raise ValueError(f"assignment {slug} names unknown checks: {', '.join(unknown)}")
    return Assignment(
        slug=slug,
        title=data.get("title", slug),
        checks=specs,
        stdin_template=data.get("stdin", "{username}\n"),
        instructions=data.get("instructions", "").strip(),
        limits=Limits.from_dict(data.get("limits", {})),
        services=_services(data),
        package_dir=package_dir,
        provided_files=_provided_files(package_dir) if package_dir else (),
    )


def _check_spec(slug: str, entry: dict) -> CheckSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ValueError(f"assignment {slug}: each [[checks]] entry needs an id")
    points = entry.get("points", 2)
    if not isinstance(points, int) or isinstance(points, bool) or points < 0:
        raise ValueError(f"assignment {slug}: check {entry['id']} has points {points!r}; give a whole number >= 0")
    visibility = entry.get("visibility", "shown")
    if visibility not in VISIBILITIES:
        allowed = ", ".join(VISIBILITIES)
        raise ValueError(f"assignment {slug}: check {entry['id']} has visibility {visibility!r}; use one of {allowed}")
    return CheckSpec(id=entry["id"], points=points, visibility=visibility)


def _provided_files(package_dir: Path) -> tuple[SubmittedFile, ...]:
    root = package_dir / "files"
    if not root.is_dir():
        return ()
    files = tuple(
        SubmittedFile(path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted(root.rglob("*"))
        if path.is_file()
    )
    if sum(len(f.content) for f in files) > MAX_PROVIDED_BYTES:
        raise ValueError(f"{root}: provided files hold more than {MAX_PROVIDED_BYTES >> 20} MiB")
    return files


def _services(data: dict) -> tuple[str, ...]:
    services = data.get("services", ["s3"])
    if not isinstance(services, list) or not services or not all(isinstance(s, str) and s for s in services):
        raise ValueError(f"assignment {data['slug']}: services must be a non-empty list of AWS service names")
    return tuple(sorted(set(services)))
