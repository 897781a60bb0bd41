"""Workers on other machines: web, PostgreSQL and Redis on one host, a worker on each of two
others (network namespaces joined by veth links, nothing shared with the web host but
read-only code; tests/multihost/hosts.py). A burst of uploads over HTTP; one worker host
loses power mid-burst; every submission is still graded, exactly once."""

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.multihost.hosts import WEB_ADDRESS, MultiHostStack, netns_supported

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
QUICK = 'import boto3\nboto3.client("s3").create_bucket(Bucket="burst-bucket")\nprint("done")\n'
BURST = 30
KILL_AFTER = 10  # uploads


@pytest.fixture(scope="module")
def stack():
    reason = netns_supported()
    if reason:
        pytest.skip(reason)
    running = MultiHostStack(
        f"multihost_{os.getpid()}",
        ARTIFACTS / "multihost-logs",
        # Short leases, so the killed host's submission is re-queued within the test's time.
        GRADING_TIME_LIMIT="20",
        GRADING_SOFT_TIME_LIMIT="15",
        GRADING_LEASE_MARGIN_S="5",
        GRADING_RETRY_DELAY_S="1",
        SWEEP_EVERY_S="2",
    )
    try:
        running.start()
        running.start_beat()
        yield running
    finally:
        running.stop()


def rows(stack, ids: list[int]) -> dict[int, dict]:
    columns = "id, status, times_graded, score, claim_token"
    query = f"select coalesce(json_agg(s), '[]') from (select {columns} from submissions_submission"
    found = json.loads(stack.sql(f"{query} where id in ({','.join(map(str, ids))})) s"))
    return {row["id"]: row for row in found}


def graded_by(stack, host) -> int:
    return len(re.findall(r"grade_submission\[.*succeeded in .*'graded'", stack.log(host.name)))


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_worker_host_sees_only_code_its_own_disk_and_the_network(stack):
    host = stack.hosts[0]
    seen = json.loads(
        stack.in_worker_host(
            host,
            "import json, os, socket\n"
            "def reach(address):\n"
            "    s = socket.socket(); s.settimeout(2)\n"
            "    try:\n"
            "        s.connect(address); return True\n"
            "    except OSError:\n"
            "        return False\n"
            "try:\n"
            "    open('written-by-a-worker', 'w'); writable = True\n"
            "except OSError:\n"
            "    writable = False\n"
            f"print(json.dumps({{'hostname': socket.gethostname(), 'var': os.listdir('var'), "
            f"'checkout_writable': writable, 'web_tmp': os.path.exists({str(stack.base)!r}), "
            "'tmp': os.listdir('/tmp'), 'pids': len([p for p in os.listdir('/proc') if p.isdigit()]), "
            "'machine_postgres': reach(('127.0.0.1', 5432)), 'machine_redis': reach(('127.0.0.1', 6379)), "
            f"'postgres': reach(({WEB_ADDRESS!r}, 5432)), 'redis': reach(({WEB_ADDRESS!r}, 6379)), "
            "'run': os.listdir('/run')}))",
        )
    )
    assert seen["hostname"] == "worker-1"
    assert seen["var"] == [] and not seen["checkout_writable"]  # the web host's var/ is not there
    # Its own /tmp: none of the machine's (the web host's) entries, its cluster directory included,
    # but for the way to the read-only code when the checkout is under /tmp (CI's clone).
    to_code = {Path(p).parts[2] for p in MultiHostStack.code_paths() if Path(p).parts[1:2] == ("tmp",)}
    assert not seen["web_tmp"] and not (set(seen["tmp"]) & set(os.listdir("/tmp"))) - to_code, seen["tmp"]
    assert seen["run"] == []  # no /run/postgresql of the machine's
    assert not seen["machine_postgres"] and not seen["machine_redis"]  # the machine's services: unreachable
    assert seen["postgres"] and seen["redis"]  # the web host's: over the link
    assert seen["pids"] < 30  # its own pid namespace: the worker's tree only


def test_a_burst_graded_across_two_worker_hosts_survives_one_host_dying_and_grades_each_once(stack, tmp_path):
    script = tmp_path / "burst.py"
    script.write_text(QUICK)
    assignment_id = int(stack.sql("select id from submissions_assignment where spec = 's3-content-manager'"))
    clients = [stack.client(name) for name in ("alice", "bob", "carol")]
    victim, survivor = stack.hosts
    ids, in_flight = [], {}
    for index in range(BURST):
        ids.append(clients[index % 3].upload(assignment_id, script))
        if index + 1 == KILL_AFTER:
            # Once the victim has graded part of the burst, and while it grades more:
            def victim_busy():
                return graded_by(stack, victim) and victim.running_a_sandbox()

            wait_until(victim_busy, 60, f"{victim.name} to have graded one and be running a sandbox")
            killed = victim.kill()  # the machine loses power: every process of it, at once
            assert killed and not victim.processes()
            in_flight = {pk: row["claim_token"] for pk, row in rows(stack, ids).items() if row["status"] == "running"}

    def all_finished():
        found = rows(stack, ids)
        return found if all(r["status"] in ("graded", "not_gradable") for r in found.values()) else None

    final = wait_until(all_finished, 100, f"{BURST} submissions to finish")
    assert len(final) == BURST
    assert [r for r in final.values() if r["status"] != "graded" or r["score"] is None] == []
    assert [r for r in final.values() if r["times_graded"] != 1] == []
    # The killed host held a submission mid-grading: another host claimed it again (a new
    # claim token) after its lease ran out, and graded it once.
    orphaned = [pk for pk, token in in_flight.items() if final[pk]["claim_token"] != token]
    assert orphaned, f"no submission was taken over from {victim.name}: {in_flight}"
    # Both hosts took part, and the survivor kept running throughout.
    assert graded_by(stack, victim) >= 1 and graded_by(stack, survivor) >= 1
    assert survivor.launcher.poll() is None
