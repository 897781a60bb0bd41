"""What the central services spend per submission, and how many worker machines one
central host can feed.

Run from the repository root, as root (network namespaces; the sandbox's uids):

    .venv/bin/python bench/central_cost.py                    # 60 submissions per burst
    .venv/bin/python bench/central_cost.py --submissions 120 --central-cores 4

It starts the multi-host topology of tests/multihost (tests/multihost/hosts.py): the
web host (gunicorn with 2 workers, Celery beat, a throwaway PostgreSQL cluster,
redis-server) in one network namespace, and two worker hosts, each a namespace with a
root of its own and one Celery worker (concurrency 1), reaching PostgreSQL and Redis
over a veth link as worker machines would over the network. It measures the CPU time
(user + system, from /proc: each process tree's own time plus that of the children it
reaped, so short-lived PostgreSQL backends count too) of each central service:

1. idle, with the two worker hosts connected, then again with none: what a worker
   machine costs the centre just by being there (Redis polling, connections);
2. burst A: N uploads over HTTP as the three demo students do them (the assignment
   page, the POST, the submission page it redirects to), no one watching; the bench
   waits on one PostgreSQL connection of its own (a unix socket, one query a second);
3. burst B: the same, while every student's page polls its status once a second
   until graded, as the site's live.js does: what watching costs per poll.

Per submission = CPU during the burst / N (idle costs included: they are tiny beside
it, and a busy worker polls Redis less); per status poll = the watched burst's extra
CPU / its polls. The worker hosts' CPU per submission and the burst's rate are printed
too, beside the planning figure of 1.5 submissions/s per 2-core worker machine. The
projection: how many such worker machines keep the central host (`--central-cores`, at
most `--utilisation` busy) below saturation, with 0, `--polls` and 20 status polls per
submission, for the whole host and for Redis alone (one thread); and how many
PostgreSQL connections each machine holds (sampled once a second during the bursts).

Everything is removed at the end (also on failure and on Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402 - after the sys.path insert

from tests.multihost.hosts import MultiHostStack, netns_supported  # noqa: E402
from tests.pgcluster import server_pid  # noqa: E402
from tests.stack import WebClient, descendants  # noqa: E402

SOLUTION = REPO / "assignments" / "s3-content-manager" / "solutions" / "correct_client.py"
STUDENTS = ("alice", "bob", "carol")
TICK = os.sysconf("SC_CLK_TCK")
WORKER_PLANNING_RATE = 1.5  # submissions/s of one 2-core worker machine (docs/deploy.md)


# --- CPU of process trees ------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    """CPU time of a live process (its threads' run time, to the nanosecond, from schedstat)
    plus that of every child it has reaped (cutime + cstime, in clock ticks)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        own = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                own += int(handle.read().split()[0])
    except OSError:
        return 0.0
    return own / 1e9 + (int(fields[13]) + int(fields[14])) / TICK


def tree_cpu_s(pid: int) -> float:
    return sum(process_cpu_s(member) for member in [pid, *descendants(pid)])


class Meter:
    """CPU seconds of named process trees, read at once."""

    def __init__(self, trees: dict[str, callable]):
        self.trees = trees  # name -> () -> list of root pids (read each time: hosts may die)

    def read(self) -> dict[str, float]:
        return {name: sum(tree_cpu_s(pid) for pid in roots()) for name, roots in self.trees.items()}


@dataclass
class Phase:
    name: str
    seconds: float
    cpu: dict[str, float]  # name -> CPU seconds spent in the phase
    submissions: int = 0
    polls: int = 0


def measure(meter: Meter, name: str, action) -> Phase:
    before, started = meter.read(), time.monotonic()
    submissions, polls = action() or (0, 0)
    after, seconds = meter.read(), time.monotonic() - started
    return Phase(name, seconds, {k: after[k] - before[k] for k in before}, submissions, polls)


# --- load ----------------------------------------------------------------------------


class Database:
    """The bench's own connection, over the cluster's unix socket: one cheap query a second."""

    def __init__(self, stack: MultiHostStack):
        self.connection = psycopg.connect(
            host=str(stack.cluster.directory),
            port=stack.cluster.port,
            user="labgrader",
            password=stack.cluster.password,
            dbname="labgrader",
            autocommit=True,
        )
        self.peak_connections: dict[str, int] = {}  # client address -> most connections seen at once

    def unfinished(self, ids: list[int]) -> int:
        query = "select count(*) from submissions_submission where id = any(%s) and status in ('queued', 'running')"
        return self.connection.execute(query, (ids,)).fetchone()[0]

    def wrongly_graded(self, ids: list[int]) -> list[tuple]:
        query = (
            "select id, status, times_graded, score from submissions_submission "
            "where id = any(%s) and (status <> 'graded' or times_graded <> 1 or score <> 10)"
        )
        return self.connection.execute(query, (ids,)).fetchall()

    def connections_by_client(self) -> dict[str, int]:
        rows = self.connection.execute(
            "select coalesce(host(client_addr), 'local'), count(*) from pg_stat_activity "
            "where datname = 'labgrader' and pid <> pg_backend_pid() group by 1"
        ).fetchall()
        return dict(rows)


def burst(clients: list[WebClient], assignment_id: int, count: int, database: Database, watch: bool):
    """count uploads from one thread per student; with watch, each polls its submissions' status
    every second until graded (live.js). Returns (submissions, polls)."""
    ids: list[int] = []
    polls = [0]
    lock = threading.Lock()
    done = threading.Event()

    def student(client: WebClient, share: int) -> None:
        mine = [client.upload(assignment_id, SOLUTION) for _ in range(share)]
        with lock:
            ids.extend(mine)
        while watch and mine and not done.is_set():
            started = time.monotonic()
            for submission_id in list(mine):
                if client.get(f"/submissions/{submission_id}/status/").json()["finished"]:
                    mine.remove(submission_id)
                with lock:
                    polls[0] += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))

    shares = [count // len(clients) + (1 if i < count % len(clients) else 0) for i in range(len(clients))]
    threads = [threading.Thread(target=student, args=(c, s)) for c, s in zip(clients, shares, strict=True)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60 + 10 * count
    while True:
        with lock:
            uploaded = list(ids)
        if len(uploaded) == count and database.unfinished(uploaded) == 0:
            break
        for client, connections in database.connections_by_client().items():
            database.peak_connections[client] = max(database.peak_connections.get(client, 0), connections)
        if time.monotonic() > deadline:
            done.set()
            raise SystemExit(f"central_cost: {count} submissions not finished in time")
        time.sleep(1.0)
    done.set()
    for thread in threads:
        thread.join()
    wrong = database.wrongly_graded(ids)
    if wrong:
        raise SystemExit(f"central_cost: submissions not graded exactly once with 10/10: {wrong[:5]}")
    return len(ids), polls[0]


# --- report ----------------------------------------------------------------------------


def report(args, phases: dict[str, Phase], connections: dict[str, int]) -> None:
    idle, idle_none, a, b = phases["idle"], phases["idle-no-workers"], phases["burst"], phases["watched"]
    central = ("gunicorn", "postgres", "redis", "beat")
    print(f"\nCentral services' CPU in ms (bursts of {a.submissions}; {os.cpu_count()} cores here)")
    print(f"{'':12}{'per submission':>16}{'watched, per sub':>18}{'per status poll':>17}{'idle ms/s':>11}")
    per_sub, per_poll, idle_rate = {}, {}, {}
    for name in (*central, "worker hosts"):
        per_sub[name] = a.cpu[name] * 1000 / a.submissions
        watched = b.cpu[name] * 1000 / b.submissions
        per_poll[name] = max(0.0, watched - per_sub[name]) * b.submissions / max(b.polls, 1)
        idle_rate[name] = idle.cpu[name] * 1000 / idle.seconds
        if name in central:
            print(f"{name:12}{per_sub[name]:16.2f}{watched:18.2f}{per_poll[name]:17.2f}{idle_rate[name]:11.2f}")
    total = sum(per_sub[n] for n in central)
    total_poll = sum(per_poll[n] for n in central)
    total_idle = sum(idle_rate[n] for n in central)
    watched_total = sum(b.cpu[n] for n in central) * 1000 / b.submissions
    print(f"{'total':12}{total:16.2f}{watched_total:18.2f}{total_poll:17.2f}{total_idle:11.2f}")
    polls_per_sub = b.polls / max(b.submissions, 1)
    print(f"(per submission: an upload as a browser does it, 3 requests; the watched burst made {b.polls} status")
    print(f" polls, {polls_per_sub:.1f} per submission, as its queue took {b.seconds:.0f} s to drain)")

    worker_ms = per_sub["worker hosts"]
    rate_a = a.submissions / a.seconds
    print(f"\nWorker hosts: {worker_ms:.0f} ms CPU per submission; the unwatched burst was graded at {rate_a:.2f}/s")
    print(f"  by {args.workers} worker hosts of concurrency 1 (2 cores here, shared with the centre and the bench)")
    none_idle = (idle_none.cpu["redis"] + idle_none.cpu["postgres"]) * 1000 / idle_none.seconds
    per_machine_idle = max(0.0, idle_rate["redis"] + idle_rate["postgres"] - none_idle) / args.workers
    print(f"Idle cost of one connected worker machine (Redis + PostgreSQL): {per_machine_idle:.2f} ms/s")
    workers_peak = {c: n for c, n in connections.items() if c in args.worker_addresses}
    print(f"PostgreSQL connections at most, by client, during the bursts: {dict(sorted(connections.items()))}")

    budget = args.central_cores * args.utilisation * 1000  # CPU ms per second the central host may spend
    rate = WORKER_PLANNING_RATE
    print(f"\nProjection: a central host of {args.central_cores} cores kept below {args.utilisation:.0%} busy;")
    print(f"worker machines of 2 cores grading {rate}/s each (the planning figure):")
    for polls in (0, args.polls, 20):
        per_submission = total + polls * total_poll
        per_machine = rate * per_submission
        machines = budget / per_machine
        redis_each = rate * (per_sub["redis"] + polls * per_poll["redis"])
        redis_machines = args.utilisation * 1000 / redis_each if redis_each else float("inf")
        print(
            f"  {polls:2d} status polls per submission: {per_submission:6.1f} ms per submission, "
            f"{per_machine:5.0f} ms/s per worker machine -> {machines:4.0f} worker machines "
            f"({machines * rate:.0f} submissions/s); Redis alone: {redis_machines:.0f}"
        )
    each = max(workers_peak.values()) if workers_peak else 0
    print(
        f"  PostgreSQL: at most {each} connection(s) per worker machine of concurrency 1 (a worker process "
        "connects per task); max_connections 100 leaves room for about 90 worker processes"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=60, help="per burst (default 60)")
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--central-cores", type=int, default=2, help="for the projection (default 2)")
    parser.add_argument("--utilisation", type=float, default=0.7, help="for the projection (default 0.7)")
    parser.add_argument("--polls", type=int, default=5, help="status polls per submission to project with (default 5)")
    parser.add_argument("--log-dir", type=Path, default=REPO / "test-artifacts" / "central-cost-logs")
    args = parser.parse_args()
    args.workers = 2
    reason = netns_supported()
    if reason:
        raise SystemExit(f"central_cost: {reason}")
    stack = MultiHostStack("central_cost", args.log_dir, slot_uid_base=65600, SWEEP_EVERY_S="60")
    try:
        print("central_cost: starting the web host and two worker hosts ...", flush=True)
        stack.start()
        stack.start_beat()
        database = Database(stack)
        assignment_id = int(stack.sql("select id from submissions_assignment where spec = 's3-content-manager'"))
        clients = [stack.client(name) for name in STUDENTS]  # logins are per session, not per submission
        meter = Meter(
            {
                "gunicorn": lambda: [stack.web.pid],
                "postgres": lambda: [server_pid(stack.cluster.directory)],
                "redis": lambda: [stack.redis_process.pid],
                "beat": lambda: [p.pid for p in stack.extra],
                "worker hosts": lambda: [host.launcher.pid for host in stack.hosts],
            }
        )
        print("central_cost: warming up (3 submissions) ...", flush=True)
        burst(clients, assignment_id, 3, database, watch=False)
        phases = {}
        print(f"central_cost: idle {args.idle_seconds:.0f} s ...", flush=True)
        phases["idle"] = measure(meter, "idle", lambda: time.sleep(args.idle_seconds))
        print(f"central_cost: burst of {args.submissions}, no one watching ...", flush=True)
        phases["burst"] = measure(
            meter, "burst", lambda: burst(clients, assignment_id, args.submissions, database, False)
        )
        args.worker_addresses = [stack.network.address(i) for i in range(len(stack.hosts))]
        print(f"central_cost: burst of {args.submissions}, every student watching ...", flush=True)
        phases["watched"] = measure(
            meter, "watched", lambda: burst(clients, assignment_id, args.submissions, database, True)
        )
        for host in stack.hosts:
            host.kill()
        print(f"central_cost: idle {args.idle_seconds:.0f} s with no worker host ...", flush=True)
        phases["idle-no-workers"] = measure(meter, "idle-no-workers", lambda: time.sleep(args.idle_seconds))
        for phase in phases.values():
            print(
                f"  {phase.name:16} {phase.seconds:6.1f} s  " + "  ".join(f"{k} {v:.2f}s" for k, v in phase.cpu.items())
            )
        report(args, phases, database.peak_connections)
        database.connection.close()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
