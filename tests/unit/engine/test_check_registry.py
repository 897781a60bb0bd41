import sys
import types

import checks
from engine.assignments import Assignment, CheckSpec
from engine.grading import evaluate
from tests.records import correct_run


def install_check(monkeypatch, check_id: str, body) -> None:
    module = types.ModuleType(f"checks.fake_{check_id}")
    module.NAME = "Fake"
    module.check = body
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(checks.REGISTRY, check_id, module.__name__)


def test_a_check_that_raises_fails_alone_and_names_itself(monkeypatch):
    install_check(monkeypatch, "exploding", lambda record: 1 / 0)
    assignment = Assignment(slug="t", title="t", checks=(CheckSpec("exploding", 3), CheckSpec("three_objects", 2)))
    results = evaluate(correct_run().record(), assignment)
    exploding, three = results
    assert not exploding.passed and exploding.error and exploding.points == 0
    assert "exploding" in exploding.feedback and "ZeroDivisionError" in exploding.feedback
    assert three.passed and three.points == 2


def test_a_check_returning_something_else_is_a_grader_error(monkeypatch):
    install_check(monkeypatch, "sloppy", lambda record: True)
    verdict, crashed = checks.run_check("sloppy", correct_run().record())
    assert crashed and not verdict.passed


def test_an_unimportable_check_becomes_a_failed_result(monkeypatch):
    monkeypatch.setitem(checks.REGISTRY, "ghost", "checks.does_not_exist")
    verdict, crashed = checks.run_check("ghost", correct_run().record())
    assert crashed and "ghost" in verdict.feedback


def test_points_come_from_the_assignment():
    assignment = Assignment(slug="t", title="t", checks=(CheckSpec("three_objects", 7),))
    (result,) = evaluate(correct_run().record(), assignment)
    assert (result.points, result.max_points) == (7, 7)
