"""Assignments are data: which checks, their points, the stdin template, the limits.

Each is a package, a folder assignments/<slug>/ at the top of the repository:
a manifest, assignment.toml, and beside it instructions.md (optional), files/
(placed in the student's working directory), checks/ (the lab's check modules),
the state probes its manifest names (engine/probes.py), solutions/ (reference
solutions, full marks each) and examples/ (wrong examples, with
examples/expected.toml naming the checks each must fail). docs/authoring.md.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from checks import packaged
from engine.files import SubmittedFile
from engine.limits import Limits
from engine.probes import MAX_SOURCE_BYTES, PackageProbe

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
    # The package's state probes ([probes]), one per service at most: run only inside the run's mock.
    probes: tuple[PackageProbe, ...] = ()

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
    services = _services(data)
    return Assignment(
        slug=slug,
        title=data.get("title", slug),
        checks=specs,
        stdin_template=data.get("stdin", "{username}\n"),
        instructions=data.get("instructions", "").strip(),
        limits=Limits.from_dict(data.get("limits", {})),
        services=services,
        package_dir=package_dir,
        provided_files=_provided_files(package_dir) if package_dir else (),
        probes=_probes(slug, data.get("probes", {}), services, package_dir),
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


def _probes(
    slug: str, declared: object, services: tuple[str, ...], package_dir: Path | None
) -> tuple[PackageProbe, ...]:
    """[probes]: service = "path/in/the/package.py:function". Read here, never run here."""
    if not isinstance(declared, dict):
        raise ValueError(f'assignment {slug}: [probes] must map services to "file.py:function"')
    return tuple(_probe(slug, service, spec, services, package_dir) for service, spec in sorted(declared.items()))


def _probe(slug: str, service: str, spec: object, services: tuple[str, ...], package_dir: Path | None) -> PackageProbe:
    where = f"assignment {slug}: the probe of {service}"
    if service == "s3":
        raise ValueError(f"{where}: S3's state is recorded by the grader itself and cannot be probed")
    if service not in services:
        raise ValueError(f"{where}: {service} is not in services ({', '.join(services)}); add it there")
    path, _, function = spec.rpartition(":") if isinstance(spec, str) else ("", "", "")
    if not path.endswith(".py") or not function.isidentifier():
        raise ValueError(f'{where} is {spec!r}; write it as "probes/{service}.py:function_name"')
    if package_dir is None:
        raise ValueError(f"{where}: a probe is a file of a package, and there is no package folder")
    relative = Path(path)
    file = package_dir / relative
    if relative.is_absolute() or ".." in relative.parts or not file.resolve().is_relative_to(package_dir.resolve()):
        raise ValueError(f"{where}: {path} must be a file inside the package")
    if not file.is_file():
        raise ValueError(f"{where}: the package has no file {path}")
    if file.stat().st_size > MAX_SOURCE_BYTES:
        raise ValueError(f"{where}: {path} is over {MAX_SOURCE_BYTES >> 10} KiB")
    try:
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=path)  # parsed, not run: only the run's confined mock runs it
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise ValueError(f"{where}: {path} cannot be read as Python: {error}") from error
    if function not in _top_level_names(tree):
        raise ValueError(f"{where}: {path} defines no {function}")
    return PackageProbe(service=service, path=relative.as_posix(), function=function, source=source)


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names
