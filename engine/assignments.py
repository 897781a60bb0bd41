"""Assignments are data: which checks, their points, the stdin template, the limits.

They live as TOML files in assignments/ at the top of the repository.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import checks
from engine.limits import Limits

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent / "assignments"


class UnknownAssignment(LookupError):
    pass


@dataclass(frozen=True)
class CheckSpec:
    id: str
    points: int


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

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)

    def stdin_for(self, username: str) -> str:
        return self.stdin_template.replace("{username}", username)


def available() -> list[str]:
    return sorted(path.stem for path in ASSIGNMENTS_DIR.glob("*.toml"))


def load(slug: str) -> Assignment:
    path = ASSIGNMENTS_DIR / f"{slug}.toml"
    if "/" in slug or not path.is_file():
        raise UnknownAssignment(f"unknown assignment {slug!r} (available: {', '.join(available())})")
    return parse(tomllib.loads(path.read_text(encoding="utf-8")))


def parse(data: dict) -> Assignment:
    specs = tuple(CheckSpec(id=c["id"], points=int(c.get("points", 2))) for c in data["checks"])
    unknown = [s.id for s in specs if s.id not in checks.REGISTRY]
    if unknown:
        raise ValueError(f"assignment {data['slug']} names unknown checks: {', '.join(unknown)}")
    return Assignment(
        slug=data["slug"],
        title=data.get("title", data["slug"]),
        checks=specs,
        stdin_template=data.get("stdin", "{username}\n"),
        instructions=data.get("instructions", "").strip(),
        limits=Limits.from_dict(data.get("limits", {})),
        services=_services(data),
    )


def _services(data: dict) -> tuple[str, ...]:
    services = data.get("services", ["s3"])
    if not isinstance(services, list) or not services or not all(isinstance(s, str) and s for s in services):
        raise ValueError(f"assignment {data['slug']}: services must be a non-empty list of AWS service names")
    return tuple(sorted(set(services)))
