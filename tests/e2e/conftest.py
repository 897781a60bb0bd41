import os
from pathlib import Path

import pytest

from tests.stack import Stack

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="session")
def stack():
    """web (gunicorn) + two Celery workers + Redis + PostgreSQL, as real processes."""
    # Named per run, with its own Redis, so that two runs on one machine never share state.
    running = Stack(f"e2e_{os.getpid()}", ARTIFACTS / "e2e-logs", own_redis=True).start(workers=2)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def assignment_ids(stack) -> dict[str, int]:
    out = stack.shell(
        "from submissions.models import Assignment\n"
        "for a in Assignment.objects.all(): print('ASSIGNMENT', a.spec, a.pk)"
    )
    rows = [line.split()[1:] for line in out.splitlines() if line.startswith("ASSIGNMENT ")]
    return {spec: int(pk) for spec, pk in rows}
