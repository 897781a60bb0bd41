"""Assignment packages: a manifest, provided files, the lab's own check modules; and judging validation."""

from pathlib import Path

import pytest

from engine import assignments
from engine.files import SubmittedFile
from engine.grading import CheckResult, GradeReport, evaluate
from engine.validation import Expectation, PackageError, expectations, judge
from tests.records import correct_run

MANIFEST = """
slug = "tiny-lab"
title = "Tiny lab"
services = ["dynamodb"]

[[checks]]
id = "said_hello"
points = 3

[[checks]]
id = "made_calls"
points = 1
visibility = "after_due"
"""

MADE_CALLS = """
from checks.base import failed, passed

ID = "made_calls"
NAME = "Calls"

def check(record):
    return passed(f"{len(record.calls)} calls") if record.calls else failed("no call")
"""

SAID_HELLO = """
from checks.base import failed, passed
from . import _words

ID = "said_hello"
NAME = "Greeting"

def check(record):
    return passed("said it") if _words.GREETING in record.stdout else failed("no " + _words.GREETING)
"""


def make_package(root: Path, manifest: str = MANIFEST, **modules: str) -> Path:
    package = root / "tiny-lab"
    (package / "checks").mkdir(parents=True)
    (package / "files").mkdir()
    (package / "assignment.toml").write_text(manifest)
    (package / "instructions.md").write_text("# Say hello\n")
    (package / "files" / "data.csv").write_text("a,b\n1,2\n")
    (package / "checks" / "_words.py").write_text('GREETING = "hello"\n')
    (package / "checks" / "said_hello.py").write_text(SAID_HELLO)
    (package / "checks" / "made_calls.py").write_text(MADE_CALLS)
    for name, source in modules.items():
        (package / "checks" / f"{name}.py").write_text(source)
    return package


def test_a_package_loads_its_manifest_instructions_services_and_provided_files(tmp_path):
    assignment = assignments.load_package(make_package(tmp_path))
    assert assignment.slug == "tiny-lab" and assignment.services == ("dynamodb",)
    assert assignment.instructions == "# Say hello"
    assert [(c.id, c.points, c.visibility) for c in assignment.checks] == [
        ("said_hello", 3, "shown"),
        ("made_calls", 1, "after_due"),
    ]
    assert [(f.name, f.content) for f in assignment.provided_files] == [("data.csv", b"a,b\n1,2\n")]


def test_a_submitted_file_replaces_the_provided_one_of_the_same_name(tmp_path):
    assignment = assignments.load_package(make_package(tmp_path))
    files = assignment.with_provided_files([SubmittedFile("main.py", b""), SubmittedFile("data.csv", b"mine\n")])
    assert sorted((f.name, f.content) for f in files) == [("data.csv", b"mine\n"), ("main.py", b"")]
    files = assignment.with_provided_files([SubmittedFile("main.py", b"")])
    assert sorted(f.name for f in files) == ["data.csv", "main.py"]


def test_every_check_of_the_package_is_evaluated_with_its_points(tmp_path):
    assignment = assignments.load_package(make_package(tmp_path))
    run = correct_run()
    run.stdout = "hello world\n"
    results = {r.id: r for r in evaluate(run.record(), assignment)}
    assert results["said_hello"].passed and results["said_hello"].name == "Greeting"
    assert results["said_hello"].points == 3
    assert results["made_calls"].passed and results["made_calls"].name == "Calls"
    assert not any(r.error for r in results.values())


def test_a_package_check_that_raises_is_an_error_verdict_naming_it(tmp_path):
    broken = 'ID = "broken"\nNAME = "Broken"\ndef check(record):\n    raise RuntimeError("boom")\n'
    manifest = MANIFEST + '\n[[checks]]\nid = "broken"\npoints = 1\n'
    assignment = assignments.load_package(make_package(tmp_path, manifest, broken=broken))
    result = {r.id: r for r in evaluate(correct_run().record(), assignment)}["broken"]
    assert result.error and not result.passed and result.points == 0
    assert "broken" in result.feedback and "boom" in result.feedback


@pytest.mark.parametrize(
    "change, complaint",
    [
        (('slug = "tiny-lab"', ""), "slug"),
        (('id = "said_hello"', 'id = "no_such_check"'), "no_such_check"),
        (('visibility = "after_due"', 'visibility = "later"'), "visibility"),
        (("points = 3", 'points = "three"'), "points"),
        (('services = ["dynamodb"]', "services = []"), "services"),
    ],
)
def test_a_broken_manifest_is_refused_with_what_is_wrong(tmp_path, change, complaint):
    with pytest.raises(ValueError, match=complaint):
        assignments.load_package(make_package(tmp_path, MANIFEST.replace(*change)))


def test_a_manifest_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match="assignment.toml"):
        assignments.load_package(make_package(tmp_path, "slug = \n"))


def _report(*outcomes: tuple[str, bool, bool]) -> GradeReport:
    checks = [CheckResult(c, c, ok, 2 if ok else 0, 2, f"about {c}", error) for c, ok, error in outcomes]
    return GradeReport("tiny-lab", correct_run().record(), checks)


def test_a_solution_short_of_full_marks_is_reported_with_its_score(tmp_path):
    solution = Expectation("solution", tmp_path / "client.py", "", frozenset())
    problems = judge(solution, _report(("a", True, False), ("b", False, False)))
    assert problems == ["scored 2/4; a reference solution must get full marks", "failed b, not declared to fail"]


def test_an_example_must_fail_exactly_its_declared_checks_and_mention_what_it_promises(tmp_path):
    example = Expectation("example", tmp_path / "wrong.py", "", frozenset({"a"}), mentions={"a": ["E-404"]})
    assert judge(example, _report(("a", False, False), ("b", True, False))) == [
        "the feedback of a does not mention 'E-404'"
    ]
    assert judge(example, _report(("a", True, False), ("b", True, False)))[0] == "passed a, declared to fail"


def test_a_crashed_check_makes_an_example_differ_even_when_it_failed_as_declared(tmp_path):
    example = Expectation("example", tmp_path / "wrong.py", "", frozenset({"a"}))
    assert judge(example, _report(("a", False, True))) == ["the check a crashed: about a"]


def test_examples_on_disk_and_in_expected_toml_must_agree(tmp_path):
    package = make_package(tmp_path)
    (package / "solutions").mkdir()
    (package / "solutions" / "main.py").write_text("print('hello')\n")
    (package / "examples").mkdir()
    (package / "examples" / "wrong.py").write_text("print('bye')\n")
    (package / "examples" / "unlisted.py").write_text("print('bye')\n")
    (package / "examples" / "expected.toml").write_text(
        'assignment = "tiny-lab"\n[[example]]\npath = "wrong.py"\ndescription = "no greeting"\nfails = ["said_hello"]\n'
    )
    assignment = assignments.load_package(package)
    with pytest.raises(PackageError, match="unlisted.py"):
        expectations(assignment)
    (package / "examples" / "unlisted.py").unlink()
    found = expectations(assignment)
    assert [(e.kind, e.path.name, sorted(e.fails)) for e in found] == [
        ("solution", "main.py", []),
        ("example", "wrong.py", ["said_hello"]),
    ]


def test_a_package_without_a_reference_solution_cannot_be_validated(tmp_path):
    with pytest.raises(PackageError, match="no reference solution"):
        expectations(assignments.load_package(make_package(tmp_path)))
