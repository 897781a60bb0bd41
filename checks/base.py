from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """What a check decides. Points are the assignment's business, not the check's."""

    passed: bool
    feedback: str


def passed(feedback: str) -> Verdict:
    return Verdict(True, feedback)


def failed(*problems: str) -> Verdict:
    return Verdict(False, " ".join(p for p in problems if p))
