"""Run by test_postgres_left_alone.py through scripts/test.sh (not collected on its own):
does what the end-to-end tests do to the server E2E_PG_ADMIN_URL names, and more, but
only once it has seen that the server is a throwaway cluster."""

import os
from pathlib import Path

import psycopg


def test_the_suite_gets_a_cluster_of_its_own_and_may_do_anything_to_it():
    with psycopg.connect(os.environ["E2E_PG_ADMIN_URL"], autocommit=True) as conn:
        data_directory = conn.execute("show data_directory").fetchone()[0]
        Path(os.environ["PG_PROBE_OUT"]).write_text(data_directory)
        # Never change a server that is not the tests' own (this would be the bug itself).
        assert Path(data_directory).parent.name.startswith("labgrader-tests-pg."), data_directory
        conn.execute("CREATE DATABASE labgrader_probe")
        conn.execute("CREATE ROLE labgrader_probe_role LOGIN PASSWORD 'x'")
        conn.execute("ALTER USER postgres PASSWORD 'changed-by-the-probe'")
