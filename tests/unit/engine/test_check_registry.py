"""How an assignment's checks are named and scored: points from the manifest, names read
without running the instructor's code. What a misbehaving check becomes: tests/containment/test_check_isolation.py."""

from engine import assignments
from engine.grading import evaluate
from tests.records import correct_run

LAB06 = assignments.load("s3-content-manager")


def test_points_come_from_the_assignment():
    (spec, *_) = LAB06.checks
    assignment = assignments.Assignment(
        slug="t", title="t", checks=(assignments.CheckSpec(spec.id, 7),), package_dir=LAB06.package_dir
    )
    (result,) = evaluate(correct_run().record(), assignment)
    assert (result.points, result.max_points) == (7, 7)


def test_a_check_the_package_does_not_have_becomes_an_error_verdict_naming_it():
    assignment = assignments.Assignment(
        slug="t", title="t", checks=(assignments.CheckSpec("ghost", 2),), package_dir=LAB06.package_dir
    )
    (result,) = evaluate(correct_run().record(), assignment)
    assert result.error and not result.passed and "ghost" in result.feedback


def test_a_checks_name_is_read_from_its_source_without_running_it(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "loud.py").write_text('raise SystemExit("ran")\nNAME = "Loud check"\n')
    (tmp_path / "checks" / "plain.py").write_text("def check(record): ...\n")
    assignment = assignments.Assignment(slug="t", title="t", checks=(), package_dir=tmp_path)
    assert assignment.check_name("loud") == "Loud check"
    assert assignment.check_name("plain") == "plain"
    assert assignment.check_name("../../etc/passwd") == "../../etc/passwd"
    assert [c.name for c in evaluate(correct_run().record(), LAB06)] == [LAB06.check_name(c.id) for c in LAB06.checks]
