"""Burst: many submissions at once through the real stack, end to end.

Run from the repository root, as root (the sandbox switches to per-run uids):

    .venv/bin/python bench/burst.py                       # 500 submissions, 2 workers
    .venv/bin/python bench/burst.py --submissions 100 --workers 1

It starts the production topology as processes (tests/stack.py: a fresh
PostgreSQL database, a private redis-server, gunicorn, N Celery workers with
concurrency 1), uploads N copies of a correct lab solution over HTTP as the
three demo students (round-robin, several uploader threads), waits until every
submission is finished and then reads the rows back from the database. It
reports:

1. correctness: N rows, every one graded exactly once (times_graded == 1) and
   scoring full marks; the script exits non-zero, loudly, if not (or if a
   worker log holds an ERROR, CRITICAL, Traceback or a lost worker);
2. the upload phase: wall time and uploads per second;
3. throughput: graded submissions per second from the first upload
   (min created_at) to the last graded_at;
4. latency from upload to graded (graded_at - created_at, database
   timestamps): p50, p95, max; plus the grading time alone (graded_at -
   started_at);
5. memory: every 0.5 s the summed VmRSS of each worker's whole process tree
   (main process, pool child, moto zygote and its forks, sandboxes); the peak
   per worker and the largest single process;
6. the load average before, during (peak 1-min) and after.

The stack is always stopped at the end (its database dropped), on failure and
on Ctrl-C too. Worker logs stay in test-artifacts/bench-logs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import psycopg  # noqa: E402 - after the sys.path insert

from tests.stack import Stack, descendants  # noqa: E402

SOLUTION = REPO_ROOT / "assignments" / "s3-content-manager" / "solutions" / "correct_client.py"
ASSIGNMENT = "s3-content-manager"
STUDENTS = ("alice", "bob", "carol")
SAMPLE_EVERY_S = 0.5
LOG_PROBLEM = re.compile(r"ERROR|CRITICAL|Traceback|WorkerLostError|Killed|SIGKILL|exited with")


# --- process trees and memory -------------------------------------------------


def tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]


def rss_kib(pid: int) -> int | None:
    """VmRSS of a live process in KiB; None if it is gone (or a zombie, which has none)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def describe_process(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().decode(errors="replace").split("\0")
    except OSError:
        return f"pid {pid}"
    words = [w for w in words if w]
    if not words:
        return f"pid {pid}"
    text = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))
    return text[:90]


@dataclass
class MemoryPeaks:
    tree_kib: dict[str, int] = field(default_factory=dict)  # worker name -> peak summed RSS
    tree_processes: dict[str, int] = field(default_factory=dict)  # worker name -> most processes at once
    process_kib: int = 0
    process_what: str = ""
    process_worker: str = ""
    load_1min: float = 0.0
    samples: int = 0


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY_S: summed RSS of each worker's process tree, the largest process, the load."""

    def __init__(self, workers: dict[str, int]):
        super().__init__(name="memory-sampler", daemon=True)
        self.workers = workers
        self.peaks = MemoryPeaks(tree_kib=dict.fromkeys(workers, 0), tree_processes=dict.fromkeys(workers, 0))
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(SAMPLE_EVERY_S)

    def sample(self) -> None:
        peaks = self.peaks
        for name, pid in self.workers.items():
            total, alive = 0, 0
            for member in tree(pid):
                kib = rss_kib(member)
                if kib is None:
                    continue
                total += kib
                alive += 1
                if kib > peaks.process_kib:
                    peaks.process_kib, peaks.process_worker = kib, name
                    peaks.process_what = describe_process(member)
            peaks.tree_kib[name] = max(peaks.tree_kib[name], total)
            peaks.tree_processes[name] = max(peaks.tree_processes[name], alive)
        peaks.load_1min = max(peaks.load_1min, os.getloadavg()[0])
        peaks.samples += 1


# --- uploads --------------------------------------------------------------------


@dataclass
class Uploads:
    ids: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    first_started: float | None = None
    last_finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def upload_burst(stack: Stack, assignment_id: int, total: int, threads: int, stop: threading.Event) -> Uploads:
    """Upload `total` copies of the solution; submission k goes in as STUDENTS[k % 3]."""
    uploads = Uploads()
    counter = itertools.count()
    ready = threading.Barrier(threads + 1)

    def uploader() -> None:
        try:
            clients = {name: stack.client(name) for name in STUDENTS}  # logged in before the clock starts
        except Exception as error:  # noqa: BLE001 - reported, and the burst goes on without this thread
            with uploads.lock:
                uploads.errors.append(f"login failed: {error!r}")
            ready.abort()
            return
        ready.wait()
        while not stop.is_set():
            k = next(counter)
            if k >= total:
                return
            started = time.monotonic()
            try:
                submission_id = clients[STUDENTS[k % len(STUDENTS)]].upload(assignment_id, SOLUTION)
            except Exception as error:  # noqa: BLE001 - a failed upload is a result, not a crash
                with uploads.lock:
                    uploads.errors.append(f"upload {k} as {STUDENTS[k % len(STUDENTS)]}: {error!r}")
                continue
            finished = time.monotonic()
            with uploads.lock:
                uploads.ids.append(submission_id)
                if uploads.first_started is None or started < uploads.first_started:
                    uploads.first_started = started
                uploads.last_finished = max(uploads.last_finished or finished, finished)

    workers = [threading.Thread(target=uploader, name=f"uploader-{i}", daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=120)
    except threading.BrokenBarrierError:
        stop.set()
        raise SystemExit("!!! ERROR: an uploader could not log in: " + "; ".join(uploads.errors)) from None
    for worker in workers:
        while worker.is_alive():  # join with a timeout, so Ctrl-C gets through
            worker.join(timeout=0.5)
    return uploads


# --- the database ---------------------------------------------------------------


def assignment_and_base(stack: Stack) -> tuple[int, int]:
    """The assignment's id, and the highest submission id before the burst."""
    out = stack.shell(
        "from django.db.models import Max\nfrom submissions.models import Assignment, Submission\n"
        f"print('ID', Assignment.objects.get(spec={ASSIGNMENT!r}).pk)\n"
        "print('BASE', Submission.objects.aggregate(m=Max('pk'))['m'] or 0)"
    )
    values = dict(line.split() for line in out.splitlines() if line.startswith(("ID ", "BASE ")))
    return int(values["ID"]), int(values["BASE"])


def status_counts(database_url: str, assignment_id: int, base: int) -> dict[str, int]:
    """Cheap progress poll (one SQL query, no Django process): rows of the burst by status."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM submissions_submission WHERE assignment_id = %s AND id > %s GROUP BY status",
            (assignment_id, base),
        ).fetchall()
    return dict(rows)


def burst_rows(stack: Stack, assignment_id: int, base: int) -> list[dict]:
    """Every row the burst created, timestamps as epoch seconds, read through Django."""
    import json

    out = stack.shell(
        "import json\nfrom submissions.models import Submission\n"
        f"rows = Submission.objects.filter(assignment_id={assignment_id}, pk__gt={base}).values(\n"
        "    'pk', 'student__username', 'status', 'times_graded', 'score', 'max_score', 'infra_failures',\n"
        "    'problem', 'created_at', 'started_at', 'graded_at')\n"
        "out = []\n"
        "for r in rows:\n"
        "    for key in ('created_at', 'started_at', 'graded_at'):\n"
        "        r[key] = r[key].timestamp() if r[key] else None\n"
        "    out.append(r)\n"
        "print('JSON', json.dumps(out))"
    )
    return json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])


def wait_until_finished(
    stack: Stack, assignment_id: int, base: int, expected: int, stall_s: float, started: float
) -> dict[str, int]:
    """Poll until `expected` rows are graded or not gradable; give up after stall_s without progress."""
    database_url = stack.env["DATABASE_URL"]
    last_done, last_change, last_print = -1, time.monotonic(), 0.0
    while True:
        counts = status_counts(database_url, assignment_id, base)
        done = counts.get("graded", 0) + counts.get("not_gradable", 0)
        expected = max(expected, sum(counts.values()))  # rows a failed upload still created count too
        now = time.monotonic()
        if done != last_done:
            last_done, last_change = done, now
        if now - last_print >= 10 or done >= expected:
            print(
                f"  t={now - started:6.1f} s  rows {sum(counts.values())}  "
                + "  ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                + f"  load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            last_print = now
        if done >= expected:
            return counts
        dead = [f"worker{i} (exit {w.returncode})" for i, w in enumerate(stack.workers) if w.poll() is not None]
        if dead:
            print(f"!!! a worker process exited: {', '.join(dead)}", flush=True)
        if now - last_change > stall_s:
            print(f"!!! no progress for {stall_s:.0f} s: giving up waiting", flush=True)
            return counts
        time.sleep(1.0)


# --- logs -------------------------------------------------------------------------


def worker_log_summary(stack: Stack, names: list[str]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Per worker: how many grade_submission tasks ended how; and every suspicious log line."""
    outcome = re.compile(r"Task submissions\.tasks\.grade_submission\[[^\]]+\] succeeded in [\d.]+s: '([^']*)'")
    per_worker, problems = {}, []
    for name in names:
        counts: dict[str, int] = {}
        for line in stack.log(name).splitlines():
            match = outcome.search(line)
            if match:
                key = match.group(1).split(":")[0]
                counts[key] = counts.get(key, 0) + 1
            elif LOG_PROBLEM.search(line):
                problems.append(f"{name}: {line}")
        per_worker[name] = counts
    for line in stack.log("web").splitlines():
        if LOG_PROBLEM.search(line):
            problems.append(f"web: {line}")
    return per_worker, problems


# --- reporting ----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def interrupt(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=500, help="how many to upload (default 500)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes, concurrency 1 (default 2)")
    parser.add_argument("--uploaders", type=int, default=6, help="uploader threads (default 6)")
    parser.add_argument("--stall", type=float, default=300, help="give up after this many s without progress")
    parser.add_argument("--log-dir", type=Path, default=REPO_ROOT / "test-artifacts" / "bench-logs")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("warning: not root, so runs share this uid (not the production sandbox shape)", file=sys.stderr)

    # SIGTERM ends the run like Ctrl-C does: through the finally that stops the stack.
    signal.signal(signal.SIGTERM, interrupt)
    load_before = loadavg()
    print(f"load average before: {load_before}  ({os.cpu_count()} CPUs)", flush=True)

    stack = Stack("bench", args.log_dir, own_redis=True, LABGRADER_SLOT_UID_BASE="65300")
    stop_uploads = threading.Event()
    sampler: Sampler | None = None
    try:
        started = time.monotonic()
        stack.start(workers=args.workers)
        assignment_id, base = assignment_and_base(stack)
        worker_names = [f"worker{i}" for i in range(args.workers)]
        print(
            f"stack up in {time.monotonic() - started:.1f} s: {stack.url}, redis {stack.redis_url}, logs {args.log_dir}"
        )

        sampler = Sampler(dict(zip(worker_names, (w.pid for w in stack.workers), strict=True)))
        sampler.start()
        print(
            f"uploading {args.submissions} x {SOLUTION.relative_to(REPO_ROOT)} "
            f"with {args.uploaders} threads as {', '.join(STUDENTS)} ...",
            flush=True,
        )
        burst_started = time.monotonic()
        uploads = upload_burst(stack, assignment_id, args.submissions, args.uploaders, stop_uploads)
        upload_s = (uploads.last_finished or burst_started) - (uploads.first_started or burst_started)
        print(f"uploaded {len(uploads.ids)} in {upload_s:.1f} s ({len(uploads.errors)} failed); waiting for grading")

        counts = wait_until_finished(stack, assignment_id, base, len(uploads.ids), args.stall, burst_started)
        sampler.stopping.set()
        sampler.join()
        load_after = loadavg()
        rows = burst_rows(stack, assignment_id, base)
        per_worker, log_problems = worker_log_summary(stack, worker_names)
        return report(
            args, uploads, upload_s, rows, counts, per_worker, log_problems, sampler.peaks, load_before, load_after
        )
    except KeyboardInterrupt:
        stop_uploads.set()
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        stop_uploads.set()
        if sampler is not None:
            sampler.stopping.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave the stack running
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping the stack ...", flush=True)
        stack.stop()


def report(args, uploads, upload_s, rows, counts, per_worker, log_problems, peaks, load_before, load_after) -> int:
    n = args.submissions
    failures: list[str] = []
    if uploads.errors:
        failures.append(f"{len(uploads.errors)} uploads failed, first: {uploads.errors[:3]}")
    uploaded = set(uploads.ids)
    by_pk = {r["pk"]: r for r in rows}
    if len(rows) != n:
        failures.append(f"{len(rows)} rows in the database, expected {n}")
    missing = uploaded - set(by_pk)
    if missing:
        failures.append(f"uploaded but no row: {sorted(missing)[:20]}")
    unexpected = set(by_pk) - uploaded
    if unexpected:
        failures.append(f"rows no upload returned: {sorted(unexpected)[:20]}")
    not_graded = [r for r in rows if r["status"] != "graded"]
    if not_graded:
        sample = [(r["pk"], r["status"], r["infra_failures"], r["problem"][:120]) for r in not_graded[:10]]
        failures.append(f"{len(not_graded)} rows not graded: {sample}")
    twice = [(r["pk"], r["times_graded"]) for r in rows if r["status"] == "graded" and r["times_graded"] != 1]
    if twice:
        failures.append(f"{len(twice)} graded rows with times_graded != 1: {twice[:20]}")
    low = [
        (r["pk"], r["score"], r["max_score"]) for r in rows if r["status"] == "graded" and r["score"] != r["max_score"]
    ]
    if low:
        failures.append(f"{len(low)} graded rows without full marks: {low[:20]}")
    retried = [r["pk"] for r in rows if r["infra_failures"]]
    if log_problems:
        failures.append(f"{len(log_problems)} suspicious log lines (below)")

    graded = [r for r in rows if r["status"] == "graded" and r["graded_at"] and r["created_at"]]
    latencies = [r["graded_at"] - r["created_at"] for r in graded]
    grading_times = [r["graded_at"] - r["started_at"] for r in graded if r["started_at"]]

    lines = [
        "",
        "=" * 78,
        f"BURST  {n} submissions, {args.workers} workers (concurrency 1), {args.uploaders} uploaders",
    ]
    lines.append("-" * 78)
    verdict = "OK" if not failures else "FAILED"
    lines.append(
        f"correctness   {verdict}: {len(rows)} rows, {len(graded)} graded, "
        f"{sum(1 for r in rows if r['times_graded'] == 1)} with times_graded == 1, "
        f"{sum(1 for r in graded if r['score'] == r['max_score'])} at full marks"
        + (f"; {len(retried)} needed a grader retry" if retried else "")
    )
    lines.append(
        f"uploads       {len(uploads.ids)} in {upload_s:.1f} s = {len(uploads.ids) / upload_s:.1f} uploads/s"
        if upload_s > 0
        else f"uploads       {len(uploads.ids)}"
    )
    if graded:
        first = min(r["created_at"] for r in rows)
        last = max(r["graded_at"] for r in graded)
        grading_span = last - min(r["started_at"] for r in graded if r["started_at"])
        lines.append(
            f"throughput    {len(graded)} graded in {last - first:.1f} s (first upload -> last graded) = "
            f"{len(graded) / (last - first):.2f} submissions/s"
        )
        lines.append(
            f"              first claim -> last graded {grading_span:.1f} s = {len(graded) / grading_span:.2f}/s"
        )
        lines.append(
            f"latency       upload -> graded: p50 {percentile(latencies, 50):.1f} s   "
            f"p95 {percentile(latencies, 95):.1f} s   max {max(latencies):.1f} s"
        )
        lines.append(
            f"grading       claimed -> graded: p50 {percentile(grading_times, 50) * 1000:.0f} ms   "
            f"p95 {percentile(grading_times, 95) * 1000:.0f} ms   max {max(grading_times) * 1000:.0f} ms"
        )
    task_counts = "   ".join(
        f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) for name, c in per_worker.items()
    )
    lines.append(f"tasks (logs)  {task_counts}")
    lines.append(
        "memory        peak summed RSS of each worker's process tree (sampled every "
        f"{SAMPLE_EVERY_S} s, {peaks.samples} samples):"
    )
    for name, kib in peaks.tree_kib.items():
        lines.append(f"                {name}: {mib(kib)}  (up to {peaks.tree_processes[name]} processes)")
    lines.append(f"              largest single process: {mib(peaks.process_kib)} in {peaks.process_worker}:")
    lines.append(f"                {peaks.process_what}")
    lines.append(f"load average  before {load_before}   after {load_after}   peak 1-min during {peaks.load_1min:.2f}")
    lines.append(f"              ({os.cpu_count()} CPUs, shared with other work)")
    lines.append("=" * 78)
    print("\n".join(lines))
    if log_problems:
        print("\nsuspicious log lines:", file=sys.stderr)
        for line in log_problems[:50]:
            print("  " + line, file=sys.stderr)
        if len(log_problems) > 50:
            print(f"  ... and {len(log_problems) - 50} more", file=sys.stderr)
    if failures:
        print("\n" + "!" * 78, file=sys.stderr)
        print("!!! BURST FAILED:", file=sys.stderr)
        for failure in failures:
            print(f"!!!   {failure}", file=sys.stderr)
        print("!" * 78, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
