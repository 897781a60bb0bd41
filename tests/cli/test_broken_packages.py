"""Broken packages (issue 10): an instructor's check that raises, loops or reaches for the network is
contained and named, and the package is refused; the grader goes on."""

import socket
from pathlib import Path

import pytest

from tests.cli.test_assignment_command import manage, small_copy

BROKEN_CHECKS = {
    "raises": "def check(record):\n    raise KeyError('TableName')\n",
    "loops": "def check(record):\n    while True:\n        pass\n",
    "networked": (
        "import socket\n"
        "def check(record):\n"
        "    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n"
        "    return passed('sent')\n"
    ),
}


def with_broken_check(package: Path, name: str, source: str) -> Path:
    """The package, plus a check of that name worth 1 point."""
    header = f'from checks.base import passed\nID = "{name}"\nNAME = "Broken {name}"\n'
    (package / "checks" / f"{name}.py").write_text(header + source)
    manifest = package / "assignment.toml"
    manifest.write_text(manifest.read_text() + f'\n[[checks]]\nid = "{name}"\npoints = 1\n')
    return package


@pytest.fixture
def listener():
    """A port of the host's loopback that a check must not reach."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    yield server
    server.close()


@pytest.mark.parametrize("name, reason", [("raises", "KeyError: 'TableName'"), ("loops", "did not finish within")])
def test_a_package_whose_check_raises_or_loops_is_refused_naming_the_check(tmp_path, monkeypatch, name, reason):
    monkeypatch.setenv("LABGRADER_CHECK_SECONDS", "1")
    package = with_broken_check(small_copy(tmp_path, {}), name, BROKEN_CHECKS[name])
    result = manage("assignment", "validate", str(package))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DIFFERS solutions/client.py" in result.stdout
    assert f"The check {name} itself failed" in result.stdout
    assert reason in result.stdout
    assert "scored 10/11" in result.stdout, "the package's other checks still ran, unharmed"
    assert "the package is NOT valid" in result.stdout


def test_a_check_that_tries_the_network_reaches_nothing_and_its_package_is_refused(tmp_path, listener):
    port = listener.getsockname()[1]
    package = with_broken_check(small_copy(tmp_path, {}), "networked", BROKEN_CHECKS["networked"].format(port=port))
    result = manage("assignment", "validate", str(package))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "networked itself failed" in result.stdout and "OSError" in result.stdout
    assert "scored 10/11" in result.stdout
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever connected
