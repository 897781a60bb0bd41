"""Throughput near the floor: the grader against bare runs and a naive grader, in one run.

Run from the repository root, as root (the sandbox switches to per-run uids):

    .venv/bin/python bench/throughput.py                      # 20 submissions per mode, 2 lanes
    .venv/bin/python bench/throughput.py --n 40 --breakdown   # and where the grader's time goes
    .venv/bin/python bench/throughput.py --all-correct        # every fully correct example, round-robin
    .venv/bin/python bench/throughput.py --thread-lanes       # grader lanes as threads of one process
    .venv/bin/python bench/throughput.py --json > out.json    # report on stderr, JSON on stdout

N correct submissions are run `--lanes` at a time (default 2) in three modes:

1. floor: the bare script, `/opt/labgrader/runtime/bin/python <entry>` in a
   fresh directory holding the submission's files, stdin the username, env
   AWS_ENDPOINT_URL=http://127.0.0.1:PORT + dummy keys + us-east-1 (HOME is
   that directory). Each lane has its own `python -m moto.server`, started
   once before anything is timed. Before each script the lane resets its
   server (POST /moto-api/reset) and stages the files: both are inside the
   lane's loop, so they count in the mode's total time and throughput, but
   not in the per-submission latency, which is the script run alone. No
   sandbox, no recording, no checks: what running the labs costs at all.
2. naive: per submission a fresh `python -m moto.server` on a free port,
   polled every 10 ms until it answers, the bare script run against it, the
   server stopped (SIGTERM, waited). Latency: server start -> server gone
   (staging the files is outside it, as for the floor).
3. grader: engine.grading.grade(files=..., assignment=...) in `--lanes`
   grading processes, as production grades: a Celery worker's prefork pool
   (--concurrency 2, docker-compose.yml) is two processes, each with its own
   zygotes (engine.motoserver.shared_zygote(), the checks zygote and the
   script zygote, what grade() uses when given none). Each lane's thread hands its submission to
   its process and waits for the result; the latency is grade()'s, timed in
   that process. The processes are spawned, load the pool and grade one
   submission (starting their zygotes) before anything is timed.
   `--thread-lanes` grades in threads of this process instead, sharing its
   zygotes, as the CLI's --batch does (`--zygote-per-lane` then gives each
   lane a moto zygote of its own). Either way each run gets its own forked
   server and checks fork. Every result must score full marks (10/10);
   anything else, or an exception, is a counted failure.

Each mode first gets one untimed warm-up round (`--lanes` submissions: it
starts the zygote, warms the floor's servers and the page cache). The timed
part is `--rounds` rounds (default 5, N split evenly): each round runs the
three modes back to back on its share, naive first, then floor and grader in
turns (naive, floor, grader, naive, grader, floor, ...), so drift and other
load on the shared machine hit every mode alike, the floor and the grader, the
pair compared most closely, always run next to each other, and each of them
follows the naive phase equally often; the figures add up over the rounds. Lanes pull
the next submission from one shared counter, like a worker pool. Per mode:
total seconds (sum of its phases' wall time), submissions/s, median and p95
(nearest rank) latency, CPU seconds per submission (this process, the
children it reaped, the floor's moto servers, the grading processes and every
zygote, moto's, the checks' and the scripts', with what each reaped, read from /proc) and the machine's CPU
seconds per submission (/proc/stat over each phase: kernel threads too, such
as network namespace teardown; other load on the machine counts against every
mode alike). Then the ratios: throughput grader/floor (grader
subs/s over floor subs/s; 1.0 = at the floor), grader/naive, the same per
round (its spread shows the noise), and median latency ratios.

`--breakdown` adds, after the timed rounds and in the same interleaved
rounds, phases that time the grader's parts without editing engine code:
run_submission() and evaluate() called separately (what grade() does), with
timers wrapped around engine internals while they run (slot claim, /proc uid
sweeps, the zygote's open_server and stop, run_sandboxed, its cgroup, the
record read; a name an engine change removed is reported n/a); a floor phase
of its own to compare with; a no-op script (`pass`) through run_submission
and bare (the difference of their Popen->exit times is the sandbox's start
and teardown); and the zygote's open_server + stop with no script at all.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import multiprocessing
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from engine import assignments, validation  # noqa: E402 - after the sys.path insert
from engine.files import SubmittedFile, from_uploads  # noqa: E402
from engine.grading import evaluate, grade  # noqa: E402
from engine.limits import Limits  # noqa: E402
from engine.runner import mock_budget, run_submission  # noqa: E402

RUNTIME_PYTHON = os.path.join(os.environ.get("LABGRADER_SANDBOX_RUNTIME", "/opt/labgrader/runtime"), "bin", "python")
DEFAULT_ASSIGNMENT = "s3-content-manager"
DEFAULT_EXAMPLE = REPO_ROOT / "assignments" / DEFAULT_ASSIGNMENT / "solutions" / "correct_client.py"
MODES = ("floor", "grader", "naive")


def main_order(round_number: int) -> tuple[str, ...]:
    """N F G, N G F, N F G, ...: the machine's speed drifts over seconds, so the two modes
    compared most closely run next to each other in every round, first one and then the
    other; and each follows the naive phase (the longest, a fresh server per submission,
    whose churn the next phase may still pay for) equally often."""
    pair = ("floor", "grader") if round_number % 2 == 0 else ("grader", "floor")
    return ("naive", *pair)


POLL_S = 0.01
NOOP_SCRIPT = b"pass\n"


# --- submissions ---------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    label: str
    assignment: assignments.Assignment
    username: str
    files: tuple[SubmittedFile, ...]
    entry_point: str

    @property
    def stdin(self) -> str:
        return self.assignment.stdin_for(self.username)

    @property
    def run_files(self) -> list[SubmittedFile]:
        """What the script starts with, as grade() stages it: the lab's provided files
        (Lab 07's inventory.csv), replaced by submitted ones of the same name."""
        return self.assignment.with_provided_files(list(self.files))


def entry_point_of(files: list[SubmittedFile]) -> str:
    """What grade() picks without an explicit entry point: the only .py file, else main.py."""
    scripts = sorted(f.name for f in files if f.name.endswith(".py"))
    return scripts[0] if len(scripts) == 1 else "main.py"


def load_submission(path: Path, assignment: str, username: str) -> Submission:
    if path.is_dir():
        files = [
            SubmittedFile(str(p.relative_to(path)), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()
        ]
    else:
        files = from_uploads([(path.name, path.read_bytes())])
    return Submission(
        label=f"{assignment}/{path.name}",
        assignment=assignments.load(assignment),
        username=username,
        files=tuple(files),
        entry_point=entry_point_of(files),
    )


def load_pool(all_correct: bool) -> list[Submission]:
    """Lab 06's correct_client.py; with all_correct, every solution and full-marks example of every lab."""
    pool = [load_submission(DEFAULT_EXAMPLE, DEFAULT_ASSIGNMENT, "alice")]
    if not all_correct:
        return pool
    for slug in assignments.available():
        for expectation in validation.expectations(assignments.load(slug)):
            if expectation.fails or expectation.path == DEFAULT_EXAMPLE:
                continue
            pool.append(load_submission(expectation.path, slug, expectation.username))
    return pool


def stage(files: tuple[SubmittedFile, ...] | list[SubmittedFile]) -> str:
    """A fresh directory holding the submission's files (the bare runs' working directory and HOME)."""
    work_dir = tempfile.mkdtemp(prefix="bench-throughput-")
    for f in files:
        target = Path(work_dir, f.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
    return work_dir


# --- bare runs and moto servers ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset_moto(port: int) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=5).read()


def start_moto(timeout_s: float = 30.0) -> tuple[subprocess.Popen, int]:
    """A new `python -m moto.server` on a free port, once it answers HTTP."""
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and process.poll() is None:
            try:
                reset_moto(port)
                return process, port
            except OSError:
                time.sleep(POLL_S)
        stop_moto(process)
    raise RuntimeError("moto.server did not come up (3 attempts)")


def stop_moto(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bare_env(port: int, home: str) -> dict[str, str]:
    return {
        "PATH": f"{os.path.dirname(RUNTIME_PYTHON)}:/usr/bin:/bin",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONUNBUFFERED": "1",
        "HOME": home,
        "LANG": "C.UTF-8",
    }


def run_bare(work_dir: str, entry_point: str, stdin: str, port: int, wall_s: float) -> tuple[float, str | None]:
    """One bare script run: (seconds, None) or (seconds, why it failed)."""
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [RUNTIME_PYTHON, entry_point],
            cwd=work_dir,
            env=bare_env(port, work_dir),
            input=stdin.encode(),
            capture_output=True,
            timeout=wall_s,
            check=False,
            # A session of its own, as the sandbox's (start_new_session, bwrap --new-session): with
            # sched autogroup on, each session gets its own CPU share, so a script left in our
            # session would get less CPU than a sandboxed one whenever anything else is running.
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, f"timed out after {wall_s:.0f} s"
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        return elapsed, f"exit {result.returncode}: {result.stderr.decode(errors='replace').strip()[-300:]}"
    return elapsed, None


# --- lanes --------------------------------------------------------------------------


@dataclass
class Sample:
    latency_s: float
    label: str
    error: str | None = None
    parts: dict[str, float] = field(default_factory=dict)  # --breakdown: seconds per part of this run


def run_lanes(count: int, lanes: int, work: Callable[[int, int], Sample]) -> tuple[float, list[Sample]]:
    """work(lane, index) for index in range(count), `lanes` threads pulling from one counter.

    Returns the wall time from the start (all lanes released at once) to the last one done.
    """
    lock = threading.Lock()
    next_index = [0]
    samples: list[Sample | None] = [None] * count
    start = threading.Barrier(lanes + 1)

    def lane(number: int) -> None:
        start.wait()
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= count:
                return
            try:
                samples[index] = work(number, index)
            except Exception as error:  # noqa: BLE001 - a crashed run is a counted failure
                samples[index] = Sample(0.0, "?", f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=lane, args=(n,), name=f"lane-{n}", daemon=True) for n in range(lanes)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [s for s in samples if s is not None]


# --- the three modes -------------------------------------------------------------------


class Floor:
    """One long-lived moto server per lane."""

    def __init__(self, lanes: int):
        self.servers = [start_moto() for _ in range(lanes)]
        self.reset_s: list[float] = []

    def pids(self) -> list[int]:
        return [process.pid for process, _ in self.servers]

    def run(self, submission: Submission, lane: int) -> Sample:
        port = self.servers[lane][1]
        started = time.perf_counter()
        reset_moto(port)  # in the lane's loop (total time), not in the latency
        self.reset_s.append(time.perf_counter() - started)
        work_dir = stage(submission.run_files)
        try:
            latency, error = run_bare(
                work_dir, submission.entry_point, submission.stdin, port, submission.assignment.limits.wall_s
            )
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        return Sample(latency, submission.label, error)

    def close(self) -> None:
        for process, _ in self.servers:
            stop_moto(process)


def run_naive(submission: Submission) -> Sample:
    work_dir = stage(submission.run_files)
    try:
        started = time.perf_counter()
        process, port = start_moto()
        try:
            _, error = run_bare(
                work_dir, submission.entry_point, submission.stdin, port, submission.assignment.limits.wall_s
            )
        finally:
            stop_moto(process)
        return Sample(time.perf_counter() - started, submission.label, error)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def full_marks_error(report) -> str | None:
    if report.score == report.max_score:
        return None
    failed = "; ".join(f"{c.id}: {c.feedback[:120]}" for c in report.checks if not c.passed)
    return f"scored {report.score}/{report.max_score}: {failed} | stderr: {report.record.stderr[-200:]}"


def run_grader(submission: Submission, zygote) -> Sample:
    started = time.perf_counter()
    report = grade(
        files=list(submission.files), assignment=submission.assignment, username=submission.username, zygote=zygote
    )
    return Sample(time.perf_counter() - started, submission.label, full_marks_error(report))


class GradingWorkers:
    """One grading process per lane, as production grades: a Celery worker's prefork pool
    (--concurrency 2) is two processes, each with its own zygotes. A lane's thread hands
    its submission to its process and waits; the process grades it with grade(), like a
    pool process running the grading task."""

    def __init__(self, lanes: int, all_correct: bool):
        context = multiprocessing.get_context("spawn")  # nothing of this process's state
        self.connections = []
        self.processes = []
        for _ in range(lanes):
            ours, theirs = context.Pipe()
            process = context.Process(target=grading_worker, args=(theirs, all_correct), daemon=True)
            process.start()
            theirs.close()
            self.connections.append(ours)
            self.processes.append(process)
        for connection in self.connections:  # each loaded its pool and started its zygotes
            try:
                answer = connection.recv()
            except EOFError:
                answer = "it died"
            if answer != "ready":
                self.close()
                raise SystemExit(f"!!! a grading process failed to start: {answer}")

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def run(self, lane: int, index: int) -> Sample:
        self.connections[lane].send(index)
        return Sample(*self.connections[lane].recv())

    def close(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.send(None)
        for process in self.processes:
            process.join(timeout=30)


def grading_worker(connection, all_correct: bool) -> None:
    """A lane's grading process: grades pool[index] for each index it is sent, until None."""
    try:
        pool = load_pool(all_correct)
        first = run_grader(pool[0], None)  # starts this process's zygotes, as a pool process's first task does
    except Exception as error:  # noqa: BLE001 - said to the benchmark, which stops
        connection.send(f"{type(error).__name__}: {error}")
        return
    connection.send(first.error or "ready")
    while (index := connection.recv()) is not None:
        try:
            sample = run_grader(pool[index % len(pool)], None)
            connection.send((sample.latency_s, sample.label, sample.error))
        except Exception as error:  # noqa: BLE001 - a crashed run is a counted failure
            connection.send((0.0, "?", f"{type(error).__name__}: {error}"))


# --- CPU accounting --------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own cpu s, reaped children's cpu s) of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    # fields[0] is the state (field 3); utime, stime, cutime, cstime are fields 14-17.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK, (int(fields[13]) + int(fields[14])) / _TICK


def zygote_pids() -> list[int]:
    """Our descendants whose command line runs a zygote: engine.moto_zygote, engine.check_zygote
    or the script zygote (each reaps its forks, so their CPU is in its children's time)."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat is not None:
                parent_of[int(entry)] = stat[0]
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier and pid not in mine}
        mine |= frontier
    found = []
    for pid in mine:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read()  # once: a second read() is at EOF
            if any(name in cmdline for name in (b"moto_zygote", b"check_zygote", b"script_zygote")):
                found.append(pid)
        except OSError:
            continue
    return found


def cpu_snapshot(extra_pids: list[int]) -> dict[str, float]:
    """CPU seconds so far: this process, children we reaped, and given live processes (with theirs)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot = {"self": own.ru_utime + own.ru_stime, "children": children.ru_utime + children.ru_stime}
    for pid in extra_pids:
        stat = proc_stat(pid)
        if stat is not None:
            snapshot[f"pid{pid}"] = stat[1] + stat[2]
    return snapshot


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent so far, kernel threads included (/proc/stat:
    every state but idle, iowait and steal). Per phase, it also counts what no process of
    ours is charged with: namespace teardown in kworkers, RCU, cgroup destruction."""
    with open("/proc/stat") as handle:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
    return (user + nice + system + irq + softirq) / _TICK


def cpu_used(before: dict[str, float], after: dict[str, float]) -> float:
    return sum(value - before.get(key, 0.0) for key, value in after.items())


# --- breakdown probes ---------------------------------------------------------------------

_current = threading.local()


# Work done off the lanes (the engine's background slot releases), summed over the whole run.
_background: dict[str, float] = {}
_background_lock = threading.Lock()


def _charge(label: str, seconds: float) -> None:
    parts = getattr(_current, "parts", None)
    if parts is not None:
        parts[label] = parts.get(label, 0.0) + seconds
    elif threading.current_thread().name == "slot-releaser":
        with _background_lock:
            _background[label] = _background.get(label, 0.0) + seconds


def _timed_call(original, label):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _charge(label, time.perf_counter() - started)

    return wrapper


class _TimedContext:
    def __init__(self, inner, label: str):
        self.inner, self.label = inner, label

    def __enter__(self):
        started = time.perf_counter()
        try:
            return self.inner.__enter__()
        finally:
            _charge(self.label, time.perf_counter() - started)

    def __exit__(self, *exc):
        started = time.perf_counter()
        try:
            return self.inner.__exit__(*exc)
        finally:
            _charge(self.label, time.perf_counter() - started)


def _timed_context(original, label):
    def wrapper(*args, **kwargs):
        return _TimedContext(original(*args, **kwargs), label)

    return wrapper


# (module, attribute path, context manager?, label). Engine internals: any of them
# may be renamed by an engine change, and is then reported n/a, not an error.
PROBES = (
    ("engine.runner", "claim_slot", True, "slot claim+release"),
    ("engine.slots", "processes_of", False, "uid sweeps (/proc scans)"),
    # The runner asks the zygote for a mock, starts the sandbox, and only then waits for it.
    ("engine.motoserver", "MotoZygote.start_server", False, "moto start_server (request)"),
    ("engine.motoserver", "PendingMoto.ready", False, "waiting for the mock (overlapped with sandbox start)"),
    ("engine.runner", "run_sandboxed", False, "run_sandboxed"),
    ("engine.runner", "make_cgroup", False, "cgroup create (script's and mock's)"),
    ("engine.motoserver", "MotoInstance.stop", False, "moto stop (record trailer)"),
    ("engine.runner", "read_call_record", False, "record read"),
    # The slot's release removes both cgroups in the background, off the run's path.
    ("engine.cgroups", "RunCgroup.remove", False, "cgroup remove (background release)"),
)


@contextlib.contextmanager
def probes_installed():
    """Wrap the PROBES that exist in timers; yields the labels installed; restores them all."""
    restore, installed = [], []
    try:
        for module_name, path, is_context, label in PROBES:
            try:
                owner = importlib.import_module(module_name)
                *parents, name = path.split(".")
                for parent in parents:
                    owner = getattr(owner, parent)
                original = getattr(owner, name)
            except (ImportError, AttributeError):
                continue
            if not callable(original):
                continue
            had_own = name in vars(owner)
            setattr(owner, name, (_timed_context if is_context else _timed_call)(original, label))
            restore.append((owner, name, original, had_own))
            installed.append(label)
        yield installed
    finally:
        for owner, name, original, had_own in reversed(restore):
            if had_own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


def run_instrumented(submission: Submission, zygote) -> Sample:
    """run_submission + evaluate, what grade() does, each timed, engine internals probed."""
    parts: dict[str, float] = {}
    _current.parts = parts
    try:
        started = time.perf_counter()
        record = run_submission(  # what grade() passes
            files=submission.run_files,
            entry_point=submission.entry_point,
            stdin=submission.stdin,
            limits=submission.assignment.limits,
            zygote=zygote,
            services=submission.assignment.services,
            probes=submission.assignment.probes,
        )
        parts["run_submission"] = time.perf_counter() - started
        checked = time.perf_counter()
        results = evaluate(record, submission.assignment)
        parts["evaluate (checks)"] = time.perf_counter() - checked
        parts["Popen->exit (record.duration_s)"] = record.duration_s
    finally:
        _current.parts = None
    score, max_score = sum(r.points for r in results), sum(r.max_points for r in results)
    error = None if score == max_score else f"scored {score}/{max_score}"
    return Sample(time.perf_counter() - started, submission.label, error, parts)


def run_noop_sandboxed(zygote) -> Sample:
    record = run_submission(
        files=[SubmittedFile("main.py", NOOP_SCRIPT)], entry_point="main.py", stdin="", zygote=zygote
    )
    error = None if record.exit_code == 0 else f"no-op exited {record.exit_code}: {record.stderr[-200:]}"
    return Sample(record.duration_s, "noop", error)


def run_noop_bare() -> Sample:
    work_dir = stage([SubmittedFile("main.py", NOOP_SCRIPT)])
    try:
        latency, error = run_bare(work_dir, "main.py", "", 9, 30)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return Sample(latency, "noop", error)


def run_zygote_noop(zygote, max_calls: int) -> Sample:
    """open_server + stop of a forked moto server, no script (engine internals: may be n/a)."""
    run_dir = tempfile.mkdtemp(prefix="bench-throughput-zygote-")
    try:
        started = time.perf_counter()
        try:
            server = zygote.open_server(
                run_dir, uid=None, services=("s3",), max_calls=max_calls, budget=mock_budget(Limits())
            )
        except TypeError as error:  # its signature changed: report n/a rather than guess
            return Sample(0.0, "zygote-noop", f"n/a (engine API changed): {error}")
        server.stop()
        return Sample(time.perf_counter() - started, "zygote-noop")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


# --- statistics and report ------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass
class ModeResult:
    total_s: float = 0.0
    cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    phases: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def failures(self) -> list[Sample]:
        return [s for s in self.samples if s.error]

    def summary(self) -> dict:
        latencies = [s.latency_s for s in self.samples]
        return {
            "submissions": self.n,
            "failures": len(self.failures),
            "total_s": round(self.total_s, 3),
            "submissions_per_s": round(self.n / self.total_s, 3),
            "latency_median_s": round(statistics.median(latencies), 3),
            "latency_p95_s": round(percentile(latencies, 95), 3),
            "latency_mean_s": round(statistics.fmean(latencies), 3),
            "cpu_s_per_submission": round(self.cpu_s / self.n, 3),
            "machine_cpu_s_per_submission": round(self.machine_cpu_s / self.n, 3),
            "phases": self.phases,
            "first_failures": [f"{s.label}: {s.error}" for s in self.failures[:5]],
        }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def lanes_shape(args) -> str:
    if not args.thread_lanes:
        return "grader lanes: a process each, with its own zygotes"
    return f"grader lanes: threads of one process, zygote {'per lane' if args.zygote_per_lane else 'shared'}"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def mean_part(samples: list[Sample], label: str) -> float | None:
    values = [s.parts[label] for s in samples if label in s.parts]
    return statistics.fmean(values) if len(values) == len(samples) and values else None


def interleave(
    work: dict[str, Callable[[int, int], Sample]],
    n: int,
    lanes: int,
    rounds: int,
    log,
    watched: Callable[[], list[int]],
    order: Callable[[int], tuple[str, ...]] | None = None,
) -> dict[str, ModeResult]:
    """n submissions per phase kind, in `rounds` rounds, in order(round) (default: forward,
    then reversed); CPU per phase."""
    results = {name: ModeResult() for name in work}
    names = tuple(work)
    for round_number, share in enumerate(split(n, rounds)):
        if order is not None:
            round_order = order(round_number)
        else:
            round_order = names if round_number % 2 == 0 else tuple(reversed(names))
        for name in round_order:
            pids = watched()
            before = cpu_snapshot(pids)
            machine_before = machine_busy_s()
            wall, samples = run_lanes(share, lanes, work[name])
            time.sleep(0.2)  # let the zygote reap its last forks before reading its CPU time
            cpu = cpu_used(before, cpu_snapshot(pids + [p for p in watched() if p not in pids]))
            result = results[name]
            result.total_s += wall
            result.cpu_s += cpu
            result.machine_cpu_s += machine_busy_s() - machine_before
            result.samples += samples
            phase = {"round": round_number + 1, "n": share, "wall_s": round(wall, 3), "load1": loadavg()[0]}
            result.phases.append(phase)
            log(
                f"round {round_number + 1:>2} {name:<14} {share} in {wall:6.2f} s  ({share / wall:5.2f}/s, "
                f"cpu {cpu:4.1f} s)  failures {sum(1 for s in samples if s.error)}  load {phase['load1']}"
            )
    return results


def breakdown(args, pool, zygote_of, floor: Floor, log, watched) -> dict:
    """The grader's time per run, by part; and where it goes beyond the floor (its own interleaved floor)."""
    max_calls = pool[0].assignment.limits.recorded_calls
    work = {
        "grader parts": lambda lane, i: run_instrumented(pool[i % len(pool)], zygote_of(lane)),
        "floor": lambda lane, i: floor.run(pool[i % len(pool)], lane),
        "no-op sandboxed": lambda lane, i: run_noop_sandboxed(zygote_of(lane)),
        "no-op bare": lambda lane, i: run_noop_bare(),
    }
    try:
        from engine.motoserver import shared_zygote  # engine internal: n/a if it moved

        work["zygote no-op"] = lambda lane, i: run_zygote_noop(zygote_of(lane) or shared_zygote(), max_calls)
    except ImportError:
        pass
    with probes_installed() as installed:
        log(f"breakdown: probes on {', '.join(installed) or 'nothing (engine changed)'}")
        results = interleave(work, args.n, args.lanes, args.rounds, log, watched)
    runs = results["grader parts"].samples
    failures = [s for result in results.values() for s in result.samples if s.error and not s.error.startswith("n/a")]

    def part(label: str) -> float | None:
        return mean_part(runs, label)

    def ok_mean(name: str) -> float | None:
        good = [s.latency_s for s in results[name].samples if not s.error] if name in results else []
        return statistics.fmean(good) if good else None

    def ok_median(name: str) -> float | None:
        good = [s.latency_s for s in results[name].samples if not s.error] if name in results else []
        return statistics.median(good) if good else None

    total = statistics.fmean(s.latency_s for s in runs)
    floor_mean_s = ok_mean("floor")
    run_sub, checks = part("run_submission"), part("evaluate (checks)")
    slot, sweeps = part("slot claim+release"), part("uid sweeps (/proc scans)")
    opened, stopped = part("moto start_server (request)"), part("moto stop (record trailer)")
    ready = part("waiting for the mock (overlapped with sandbox start)")
    sandboxed, cgroup = part("run_sandboxed"), part("cgroup create (script's and mock's)")
    popen, record_read = part("Popen->exit (record.duration_s)"), part("record read")
    noop_sandbox_s, noop_bare_s, zygote_noop_s = (
        ok_mean("no-op sandboxed"),
        ok_mean("no-op bare"),
        ok_mean("zygote no-op"),
    )

    def minus(value, *others):
        if value is None or any(o is None for o in others):
            return None
        return value - sum(others)

    def plus(*values):
        return None if any(v is None for v in values) else sum(values)

    sandbox_start = minus(noop_sandbox_s, noop_bare_s)
    table = [
        ("run_submission + evaluate (grade's work)", total, 0),
        ("run_submission", run_sub, 1),
        ("slot claim+release", slot, 2),
        ("moto start_server (request)", opened, 2),
        ("run_sandboxed", sandboxed, 2),
        ("Popen->exit (record.duration_s)", popen, 3),
        ("waiting for the mock (overlapped with sandbox start)", ready, 4),
        ("rest: etc files, leftovers, pipes", minus(sandboxed, popen), 3),
        ("moto stop (record trailer)", stopped, 2),
        ("record read", record_read, 2),
        ("cgroup create (script's and mock's)", cgroup, 2),
        (
            "rest: run dir, files, rmtree, RunRecord",
            minus(run_sub, slot, opened, sandboxed, stopped, record_read, cgroup),
            2,
        ),
        ("evaluate (checks)", checks, 1),
        ("uid sweeps (/proc scans), inside the above or in the background release", sweeps, 1),
    ]
    # Background releases are not charged to a run: spread their sum over every grading of the benchmark.
    gradings = sum(len(r.samples) for name, r in results.items() if name.startswith("grader")) + args.lanes * 2
    for label, seconds in sorted(_background.items()):
        table.append((f"background slot releases: {label}, per grading", seconds / max(gradings, 1), 1))
    beyond_floor = minus(total, floor_mean_s)
    beyond = [
        ("grader run (median, for scale)", statistics.median(s.latency_s for s in runs)),
        ("floor script run (median, for scale)", ok_median("floor")),
        ("grader run (mean)", total),
        ("floor script run (mean, same rounds)", floor_mean_s),
        ("beyond the floor", beyond_floor),
        ("  checks (evaluate)", checks),
        ("  moto start request + stop + record read", plus(opened, stopped, record_read)),
        ("  slot claim+release (its uid sweeps included)", slot),
        ("  cgroup create (the script's and the mock's)", cgroup),
        ("  sandbox start+teardown (no-op: sandboxed - bare)", sandbox_start),
        ("  script slower inside: Popen->exit - start+teardown - floor", minus(popen, sandbox_start, floor_mean_s)),
        ("  rest: uid sweep after the run, etc files, run dir, pipes", None),
    ]
    beyond[-1] = (beyond[-1][0], minus(beyond_floor, *(v for _, v in beyond[5:11])))
    return {
        "runs": len(runs),
        "rounds": args.rounds,
        "probes_installed": installed,
        "parts_mean_s": {label: None if v is None else round(v, 4) for label, v, _ in table},
        "beyond_floor_mean_s": {label.strip(): None if v is None else round(v, 4) for label, v in beyond},
        "noop_script_sandboxed_popen_exit_mean_s": noop_sandbox_s and round(noop_sandbox_s, 4),
        "noop_script_bare_mean_s": noop_bare_s and round(noop_bare_s, 4),
        "zygote_open_stop_no_script_mean_s": zygote_noop_s and round(zygote_noop_s, 4),
        "cpu_s_per_run": {name: round(r.cpu_s / r.n, 4) for name, r in results.items() if r.n},
        "failures": [f"{s.label}: {s.error}" for s in failures[:5]],
        "_table": table,
        "_beyond": beyond,
    }


def print_breakdown(b: dict, lanes: int, out) -> None:
    def fmt(v):
        return "     n/a" if v is None else ms(v)

    print(
        f"\nbreakdown of the grader: {b['runs']} runs, {lanes} at a time, in {b['rounds']} round(s) interleaved "
        "with a floor, no-op scripts and zygote no-ops (means per run; indented parts are inside the line above):",
        file=out,
    )
    for label, value, depth in b["_table"]:
        print(f"  {'  ' * depth}{label:<{52 - 2 * depth}} {fmt(value)}", file=out)
    print(
        f"  no-op script (`pass`): sandboxed Popen->exit {fmt(b['noop_script_sandboxed_popen_exit_mean_s']).strip()}, "
        f"bare {fmt(b['noop_script_bare_mean_s']).strip()}; zygote open_server+stop with no script "
        f"{fmt(b['zygote_open_stop_no_script_mean_s']).strip()}",
        file=out,
    )
    print(
        "  cpu per run: " + ", ".join(f"{name} {fmt(value).strip()}" for name, value in b["cpu_s_per_run"].items()),
        file=out,
    )
    print("where the time beyond the floor goes (means per run):", file=out)
    for label, value in b["_beyond"]:
        print(f"  {label:<62} {fmt(value)}", file=out)
    if b["failures"]:
        print(f"  !!! breakdown failures: {b['failures']}", file=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="submissions per mode (default 20)")
    parser.add_argument("--lanes", type=int, default=2, help="submissions at a time (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the N are split over (default 5, at most N)")
    parser.add_argument("--all-correct", action="store_true", help="every fully correct example, round-robin")
    parser.add_argument("--breakdown", action="store_true", help="also time the grader's parts")
    parser.add_argument(
        "--thread-lanes",
        action="store_true",
        help="grade in threads of this process sharing its zygotes (as the CLI's --batch does), "
        "not in one process per lane (as a Celery worker's prefork pool does)",
    )
    parser.add_argument(
        "--zygote-per-lane", action="store_true", help="with --thread-lanes: one moto zygote per lane, not one shared"
    )
    parser.add_argument("--json", action="store_true", help="JSON on stdout, the report on stderr")
    args = parser.parse_args()
    if args.n < 1 or args.lanes < 1 or args.rounds < 1:
        parser.error("--n, --lanes and --rounds must be at least 1")
    if args.zygote_per_lane and not args.thread_lanes:
        parser.error("--zygote-per-lane goes with --thread-lanes (a grading process per lane has its own zygotes)")
    args.rounds = min(args.rounds, args.n)
    out = sys.stderr if args.json else sys.stdout

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    if os.geteuid() != 0:
        log("warning: not root, so runs share this uid (not the production sandbox shape)")
    pool = load_pool(args.all_correct)
    load_start = loadavg()
    log(f"load average at start: {' '.join(map(str, load_start))} ({os.cpu_count()} CPUs)")
    log(f"pool: {', '.join(s.label for s in pool)}")

    zygotes = []
    if args.zygote_per_lane:
        from engine.motoserver import MotoZygote  # engine internal, only for this option

        zygotes = [MotoZygote() for _ in range(args.lanes)]

    def zygote_of(lane: int):
        return zygotes[lane] if zygotes else None

    floor = Floor(args.lanes)
    workers = None
    breakdown_result = None
    try:
        if not args.thread_lanes:
            workers = GradingWorkers(args.lanes, args.all_correct)

        def watched() -> list[int]:
            return floor.pids() + zygote_pids() + (workers.pids() if workers else [])

        def grader(lane: int, index: int) -> Sample:
            if workers is not None:
                return workers.run(lane, index)
            return run_grader(pool[index % len(pool)], zygote_of(lane))

        work = {
            "floor": lambda lane, i: floor.run(pool[i % len(pool)], lane),
            "naive": lambda lane, i: run_naive(pool[i % len(pool)]),
            "grader": grader,
        }
        for mode in MODES:  # warm-up, not timed
            wall, samples = run_lanes(args.lanes, args.lanes, work[mode])
            bad = [s for s in samples if s.error]
            log(f"warm-up {mode}: {wall:.2f} s")
            if bad:
                raise SystemExit(f"!!! the warm-up of {mode} failed: {bad[0].label}: {bad[0].error}")
        floor.reset_s.clear()
        results = interleave(work, args.n, args.lanes, args.rounds, log, watched, main_order)
        resets = list(floor.reset_s)
        if args.breakdown:
            breakdown_result = breakdown(args, pool, zygote_of, floor, log, watched)
    finally:
        floor.close()
        if workers is not None:
            workers.close()
        for zygote in zygotes:
            zygote.close()
    load_end = loadavg()

    summaries = {mode: results[mode].summary() for mode in MODES}
    floor_s, grader_s, naive_s = (summaries[m] for m in MODES)
    per_round = [
        round((g["n"] / g["wall_s"]) / (f["n"] / f["wall_s"]), 3)
        for f, g in zip(results["floor"].phases, results["grader"].phases, strict=True)
    ]
    ratios = {
        "throughput_grader_over_floor": round(grader_s["submissions_per_s"] / floor_s["submissions_per_s"], 3),
        "throughput_grader_over_naive": round(grader_s["submissions_per_s"] / naive_s["submissions_per_s"], 3),
        "median_latency_grader_over_floor": round(grader_s["latency_median_s"] / floor_s["latency_median_s"], 3),
        "median_latency_grader_over_naive": round(grader_s["latency_median_s"] / naive_s["latency_median_s"], 3),
        "cpu_per_submission_grader_over_floor": round(
            grader_s["cpu_s_per_submission"] / floor_s["cpu_s_per_submission"], 3
        ),
        "machine_cpu_per_submission_grader_over_floor": round(
            grader_s["machine_cpu_s_per_submission"] / floor_s["machine_cpu_s_per_submission"], 3
        ),
        "throughput_grader_over_floor_per_round": per_round,
        "throughput_grader_over_floor_median_of_rounds": round(statistics.median(per_round), 3),
    }

    print(
        f"\nthroughput: {args.n} submissions per mode, {args.lanes} at a time, {args.rounds} interleaved round(s); "
        f"{os.cpu_count()} CPUs; {lanes_shape(args)}; "
        f"pool: {', '.join(s.label for s in pool)}",
        file=out,
    )
    print(
        f"{'mode':<7} {'total':>8} {'subs/s':>7} {'median':>9} {'p95':>9} {'cpu/sub':>9} {'machine/sub':>11}  failures",
        file=out,
    )
    for mode in MODES:
        s = summaries[mode]
        print(
            f"{mode:<7} {s['total_s']:7.2f}s {s['submissions_per_s']:7.2f} {ms(s['latency_median_s']):>9} "
            f"{ms(s['latency_p95_s']):>9} {ms(s['cpu_s_per_submission']):>9} "
            f"{ms(s['machine_cpu_s_per_submission']):>11}  {s['failures']}/{s['submissions']}",
            file=out,
        )
    print(
        f"throughput ratio grader/floor {ratios['throughput_grader_over_floor']:.2f}x   "
        f"grader/naive {ratios['throughput_grader_over_naive']:.2f}x   "
        f"(median latency grader/floor {ratios['median_latency_grader_over_floor']:.2f}, "
        f"grader/naive {ratios['median_latency_grader_over_naive']:.2f})",
        file=out,
    )
    print(
        f"grader/floor throughput per round: {' '.join(f'{r:.2f}' for r in per_round)} "
        f"(median {ratios['throughput_grader_over_floor_median_of_rounds']:.2f})",
        file=out,
    )
    cpu_ratio = ratios["cpu_per_submission_grader_over_floor"]
    print(
        f"cpu per submission grader/floor {cpu_ratio:.2f} (our processes, the floor's servers and the zygotes "
        "with their forks; not kernel threads)",
        file=out,
    )
    machine_ratio = ratios["machine_cpu_per_submission_grader_over_floor"]
    print(
        f"machine cpu per submission grader/floor {machine_ratio:.2f} (all of the machine's CPU during each "
        f"phase, kernel threads included; other load counts against every mode alike): where the CPUs "
        f"are the bottleneck, throughput grader/floor tends to 1/{machine_ratio:.2f} = {1 / machine_ratio:.2f}x",
        file=out,
    )
    if resets:
        print(
            f"floor: moto reset before each script, median {ms(statistics.median(resets)).strip()} "
            "(in the floor's total, not in its latency)",
            file=out,
        )
    print(f"load average: start {' '.join(map(str, load_start))}, end {' '.join(map(str, load_end))}", file=out)
    if load_start[0] > 0.5 * (os.cpu_count() or 1):
        print(
            "warning: the machine was busy before the run started (1-min load above half the CPUs): "
            "the per-round ratios show how much that moved the figures",
            file=out,
        )
    for mode in MODES:
        for line in summaries[mode]["first_failures"]:
            print(f"!!! {mode} failure: {line}", file=out)
    if breakdown_result is not None:
        print_breakdown(breakdown_result, args.lanes, out)

    if args.json:
        document = {
            "config": {
                "n": args.n,
                "lanes": args.lanes,
                "rounds": args.rounds,
                "pool": [s.label for s in pool],
                "lane_shape": lanes_shape(args),
                "cpus": os.cpu_count(),
            },
            "load_start": load_start,
            "load_end": load_end,
            "modes": summaries,
            "ratios": ratios,
            "floor_reset_median_s": round(statistics.median(resets), 4) if resets else None,
        }
        if breakdown_result is not None:
            document["breakdown"] = {k: v for k, v in breakdown_result.items() if not k.startswith("_")}
        json.dump(document, sys.stdout, indent=2)
        print()
    failed = sum(s["failures"] for s in summaries.values())
    if failed:
        print(f"\n!!! ERROR: {failed} failed submissions (see above) !!!", file=out)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
