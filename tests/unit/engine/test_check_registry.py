"""How checks are run: a check that raises, returns garbage or cannot be imported fails alone."""

import types

import checks
from engine import assignments
from engine.grading import evaluate
from tests.records import correct_run

LAB06 = assignments.load("s3-content-manager")


def loader_with(**fakes):
    """The Lab 06 package's checks, plus fake modules by id."""

    def load(check_id: str):
        if check_id in fakes:
            module = types.ModuleType(f"fake_{check_id}")
            module.NAME = "Fake"
            module.check = fakes[check_id]
            return module
        return LAB06.load_check(check_id)

    return load


def test_a_check_that_raises_fails_alone_and_names_itself():
    load = loader_with(exploding=lambda record: 1 / 0)
    exploding, crashed = checks.run_check("exploding", correct_run().record(), load)
    three, _ = checks.run_check("three_objects", correct_run().record(), load)
    assert crashed and not exploding.passed
    assert "exploding" in exploding.feedback and "ZeroDivisionError" in exploding.feedback
    assert three.passed


def test_a_check_returning_something_else_is_a_grader_error():
    verdict, crashed = checks.run_check("sloppy", correct_run().record(), loader_with(sloppy=lambda record: True))
    assert crashed and not verdict.passed


def test_an_unimportable_check_becomes_a_failed_result():
    verdict, crashed = checks.run_check("ghost", correct_run().record(), LAB06.load_check)
    assert crashed and "ghost" in verdict.feedback


def test_points_come_from_the_assignment():
    (spec, *_) = LAB06.checks
    assignment = assignments.Assignment(
        slug="t", title="t", checks=(assignments.CheckSpec(spec.id, 7),), package_dir=LAB06.package_dir
    )
    (result,) = evaluate(correct_run().record(), assignment)
    assert (result.points, result.max_points) == (7, 7)
