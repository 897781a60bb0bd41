"""The test suite leaves the machine's PostgreSQL as it found it: scripts/test.sh gives the
tests a throwaway cluster, and removes it, instead of changing the machine's roles."""

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# What would change the machine's cluster: roles, passwords, or starting its server.
CHANGES_THE_HOSTS_POSTGRES = re.compile(
    r"ALTER\s+(USER|ROLE)|CREATE\s+(USER|ROLE)|DROP\s+(USER|ROLE)|pg_ctlcluster|su\s+postgres|createuser",
    re.IGNORECASE,
)


def test_no_script_changes_roles_or_starts_the_machines_postgresql():
    scripts = [*sorted((REPO / "scripts").glob("*.sh")), REPO / ".ci" / "run", REPO / "Makefile"]
    offending = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in scripts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CHANGES_THE_HOSTS_POSTGRES.search(line)
    ]
    assert offending == []


def host_cluster(sql: str) -> str | None:
    """Read the machine's cluster as its superuser over the local socket; None if there is none."""
    result = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-XAtc", sql], capture_output=True, text=True, timeout=30
    )
    return result.stdout if result.returncode == 0 else None


def test_the_suites_postgresql_is_a_throwaway_cluster_and_the_hosts_roles_are_unchanged(tmp_path):
    roles = "select rolname, rolsuper, rolcanlogin, coalesce(rolpassword, '-') from pg_authid order by 1"
    before = host_cluster(roles)
    out = tmp_path / "data_directory"
    env = {key: value for key, value in os.environ.items() if key != "E2E_PG_ADMIN_URL"}
    result = subprocess.run(
        ["bash", "scripts/test.sh", "-q", "-p", "no:cacheprovider", "tests/housekeeping/pg_probe.py"],
        cwd=REPO,
        env={**env, "PG_PROBE_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data_directory = Path(out.read_text())
    assert data_directory.parent.name.startswith("labgrader-tests-pg.")
    assert not data_directory.parent.exists()  # removed when the run ended
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(data_directory) not in processes
    if before is not None:
        assert host_cluster(roles) == before
