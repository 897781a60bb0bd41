"""The labs' own check modules, for unit tests: they live in their assignment packages."""

from types import ModuleType

from engine import assignments


def check_module(slug: str, check_id: str) -> ModuleType:
    return assignments.load(slug).load_check(check_id)


def lab06(check_id: str) -> ModuleType:
    return check_module("s3-content-manager", check_id)


def walkthrough(check_id: str) -> ModuleType:
    return check_module("s3-walkthrough", check_id)
