"""A package's state probes: declared in its manifest ([probes]), read but never run by the grader,
and, once installed in a mock (which only a run's confined fork does), used instead of the built-in.

The real confined mock running them: tests/containment/test_package_probes.py."""

import pytest

from engine import assignments, probes
from engine.probes import PackageProbe, ResourceView
from tests.unit.engine.test_service_recording import INVENTORY, Mock

MANIFEST = """
slug = "queue-lab"
services = ["sqs", "dynamodb", "s3"]

[probes]
sqs = "probes/sqs.py:queue_state"

[[checks]]
id = "seen"
"""

PROBE = """
from engine.probes import ResourceView

def queue_state(request, max_entries):
    return {}
"""


def make_package(root, manifest: str = MANIFEST, probe: str = PROBE):
    package = root / "queue-lab"
    (package / "checks").mkdir(parents=True)
    (package / "probes").mkdir()
    (package / "assignment.toml").write_text(manifest)
    (package / "checks" / "seen.py").write_text("ID = 'seen'\ndef check(record):\n    pass\n")
    (package / "probes" / "sqs.py").write_text(probe)
    return package


def test_a_package_declares_a_probe_of_a_service_it_serves(tmp_path):
    [probe] = assignments.load_package(make_package(tmp_path)).probes
    assert probe == PackageProbe("sqs", "probes/sqs.py", "queue_state", PROBE)


def test_a_package_without_probes_has_none(tmp_path):
    manifest = MANIFEST.replace('[probes]\nsqs = "probes/sqs.py:queue_state"\n', "")
    assert assignments.load_package(make_package(tmp_path, manifest)).probes == ()


@pytest.mark.parametrize(
    "declared, complaint",
    [
        ('sqs = "probes/sqs.py:queue_state"\nsns = "probes/sqs.py:queue_state"', "sns is not in services"),
        ('s3 = "probes/sqs.py:queue_state"', "S3's state is recorded by the grader itself"),
        ('sqs = "probes/sns.py:queue_state"', "the package has no file probes/sns.py"),
        ('sqs = "../queue-lab/probes/sqs.py:queue_state"', "must be a file inside the package"),
        ('sqs = "/etc/passwd.py:queue_state"', "must be a file inside the package"),
        ('sqs = "probes/sqs.py"', 'write it as "probes/sqs.py:function_name"'),
        ('sqs = "probes/sqs.py:queue-state"', 'write it as "probes/sqs.py:function_name"'),
        ("sqs = 3", 'write it as "probes/sqs.py:function_name"'),
        ('sqs = "probes/sqs.py:no_such_function"', "probes/sqs.py defines no no_such_function"),
    ],
)
def test_a_probe_the_package_cannot_have_is_refused_saying_why(tmp_path, declared, complaint):
    manifest = MANIFEST.replace('sqs = "probes/sqs.py:queue_state"', declared)
    with pytest.raises(ValueError, match=complaint):
        assignments.load_package(make_package(tmp_path, manifest))


def test_probes_must_be_a_table(tmp_path):
    manifest = MANIFEST.replace('[probes]\nsqs = "probes/sqs.py:queue_state"\n', 'probes = ["sqs"]\n')
    with pytest.raises(ValueError, match=r"\[probes\] must map services"):
        assignments.load_package(make_package(tmp_path, manifest))


def test_a_probe_file_that_is_not_python_or_too_big_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot be read as Python"):
        assignments.load_package(make_package(tmp_path / "a", probe="def queue_state(:\n"))
    padding = "#" * probes.MAX_SOURCE_BYTES + "\n"
    with pytest.raises(ValueError, match="over 256 KiB"):
        assignments.load_package(make_package(tmp_path / "b", probe=PROBE + padding))


def test_a_symlink_out_of_the_package_is_refused(tmp_path):
    package = make_package(tmp_path)
    (tmp_path / "outside.py").write_text(PROBE)
    (package / "probes" / "sqs.py").unlink()
    (package / "probes" / "sqs.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(ValueError, match="must be a file inside the package"):
        assignments.load_package(package)


@pytest.fixture
def mock(app, tmp_path, monkeypatch):
    # install() is meant for a run's own fork; here it must not outlive the test.
    monkeypatch.setattr(probes, "_installed", {})
    monkeypatch.setattr(probes, "_loaded", {})
    return Mock(app, tmp_path / "record.jsonl")


def dynamodb_probe(source: str) -> PackageProbe:
    return PackageProbe("dynamodb", "probes/tables.py", "tables", source)


TABLE_NAMES = """
from moto.dynamodb.models import dynamodb_backends
from engine.probes import ResourceView

def tables(request, max_entries):
    names = sorted(t for regions in dynamodb_backends.values() for b in regions.values() for t in b.tables)
    return {"tables": ResourceView({"names": names}, {}, True, 0)}
"""


def test_an_installed_package_probe_replaces_the_built_in_one_of_its_service(mock):
    probes.install([dynamodb_probe(TABLE_NAMES)])
    mock.dynamodb("CreateTable", INVENTORY)
    [change] = mock.entries()[-1]["service_changes"]
    assert change == {"resource": "tables", "value": {"names": ["inventory-alice"]}}
    assert mock.finish().final_services == {
        "dynamodb": {"tables": {"resource": {"names": ["inventory-alice"]}, "entries": {}}}
    }


@pytest.mark.parametrize(
    "source, complaint",
    [
        (
            "raise ImportError('no such module')\n",
            "could not be loaded: ImportError: no such module (probes/tables.py, line 1)",
        ),
        ("tables = 3\n", "could not be loaded: TypeError: tables is not a function"),
        (
            "def tables(request, max_entries):\n    return 1 / 0\n",
            "failed: ZeroDivisionError: division by zero (probes/tables.py, line 2)",
        ),
        ("def tables(request, max_entries):\n    return [1]\n", "returned a list, not {resource: ResourceView}"),
        (
            "def tables(request, max_entries):\n    raise SystemExit(3)\n",
            "failed: SystemExit: 3 (probes/tables.py, line 2)",
        ),
        (
            "def tables(request, max_entries):\n    return {'t': {'items': 1}}\n",
            "returned a dict holding something else",
        ),
    ],
)
def test_a_package_probe_that_fails_is_named_on_every_call_it_fails_and_the_calls_are_served(mock, source, complaint):
    probes.install([dynamodb_probe(source)])
    assert mock.dynamodb("CreateTable", INVENTORY) == 200
    assert mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": "A-1"}}}) == 200
    for entry in mock.entries():
        assert entry["service_changes"] == []
        assert f"state probe probes/tables.py:tables {complaint}" in entry["params"]["record_error"]
    record = mock.finish()
    assert [c.operation for c in record.calls] == ["CreateTable", "PutItem"]
    assert record.final_services == {"dynamodb": {}}  # as last seen: nothing


def test_without_an_installed_probe_the_built_in_one_is_used(mock):
    mock.dynamodb("CreateTable", INVENTORY)
    assert mock.entries()[-1]["service_changes"][0]["resource"] == "inventory-alice"
    assert isinstance(probes.probe_for("dynamodb")(None, 10)["inventory-alice"], ResourceView)
