import os
from pathlib import Path

import pytest

from tests.stack import Stack

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def stack():
    """The real topology with its own Redis (to restart), beat, and short leases so recovery is quick."""
    running = Stack(
        f"faults_{os.getpid()}",
        ARTIFACTS / "fault-logs",
        own_redis=True,
        GRADING_TIME_LIMIT="20",
        GRADING_SOFT_TIME_LIMIT="15",
        GRADING_LEASE_MARGIN_S="5",
        GRADING_RETRY_DELAY_S="1",
        SWEEP_EVERY_S="2",
        LABGRADER_SLOT_UID_BASE="65100",
    ).start(workers=2)
    running.start_beat()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def assignment_id(stack) -> int:
    out = stack.shell(
        "from submissions.models import Assignment\nprint('ID', Assignment.objects.get(spec='s3-content-manager').pk)"
    )
    return int(next(line for line in out.splitlines() if line.startswith("ID ")).split()[1])
