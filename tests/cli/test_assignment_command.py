"""`manage.py assignment validate` and `grade --assignment dynamodb-inventory`, run as an instructor runs them."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB07 = REPO / "assignments" / "dynamodb-inventory"


def manage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def small_copy(tmp_path: Path, examples: dict[str, list[str]]) -> Path:
    """Lab 07 with one solution and the given examples, declared to fail the given checks."""
    package = tmp_path / "lab07"
    shutil.copytree(LAB07, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(package / "examples")
    (package / "solutions" / "resource.py").unlink()
    (package / "examples").mkdir()
    lines = ['assignment = "dynamodb-inventory"', 'username = "alice"']
    for name, fails in examples.items():
        shutil.copy(LAB07 / "examples" / name, package / "examples" / name)
        lines += ["[[example]]", f'path = "{name}"', 'description = "test"', f"fails = {json.dumps(fails)}"]
    (package / "examples" / "expected.toml").write_text("\n".join(lines) + "\n")
    return package


def test_the_shipped_lab_07_package_validates_every_solution_and_example():
    result = manage("assignment", "validate", str(LAB07), "--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["valid"] and report["assignment"] == "dynamodb-inventory"
    kinds = [r["kind"] for r in report["results"]]
    assert kinds.count("solution") == 2 and kinds.count("example") >= 12
    assert all(r["score"] == 10 for r in report["results"] if r["kind"] == "solution")


def test_an_example_declared_wrongly_makes_the_package_invalid_and_says_how(tmp_path):
    package = small_copy(tmp_path, {"wrong_no_cleanup.py": ["items_loaded"]})
    result = manage("assignment", "validate", str(package))
    assert result.returncode == 1
    assert "DIFFERS examples/wrong_no_cleanup.py" in result.stdout
    assert "passed items_loaded, declared to fail" in result.stdout
    assert "failed cleanup_waited, not declared to fail" in result.stdout
    assert "1 of 2 graded as declared: the package is NOT valid." in result.stdout


def test_a_zip_of_a_package_validates_like_its_folder(tmp_path):
    package = small_copy(tmp_path, {"wrong_no_delete_waiter.py": ["cleanup_waited"]})
    archive = tmp_path / "lab07.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                zipped.write(path, f"lab07/{path.relative_to(package)}")
    result = manage("assignment", "validate", str(archive))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 of 2 graded as declared: the package is valid." in result.stdout


def test_a_folder_without_a_manifest_is_refused_in_one_line(tmp_path):
    result = manage("assignment", "validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().endswith("is not an assignment package: it has no assignment.toml")


def test_grade_json_grades_lab_07_as_the_cli_contract_says():
    solution = LAB07 / "solutions" / "client.py"
    result = manage("grade", str(solution), "--assignment", "dynamodb-inventory", "--username", "Alice", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["assignment"] == "dynamodb-inventory"
    assert (report["score"], report["max_score"]) == (10, 10), result.stdout
    assert [c["id"] for c in report["checks"]] == [
        "table_ready",
        "items_loaded",
        "paginated_report",
        "conditional_sell",
        "cleanup_waited",
    ]
    assert "items: 25" in report["run"]["stdout"] and report["run"]["exit_code"] == 0
