"""Grading latency: what the sandboxed pipeline costs on top of running the script.

Run from the repository root, as root (the sandbox switches to per-run uids):

    .venv/bin/python bench/grading_latency.py            # 15 runs of each kind
    .venv/bin/python bench/grading_latency.py --runs 30

It measures, in one process so the figures share the same (noisy) machine:

1. baseline: a bare `/opt/labgrader/runtime/bin/python main.py` of a correct
   lab solution against an already-running moto server (state reset before
   each run, fresh working directory, no sandbox);
2. grading: engine.grading.grade() of the same submission (forked recording
   moto + bubblewrap sandbox + record + checks), after one warm-up;
   baseline and grading runs alternate (A B A B ...) so drift hits both;
3. the ratio of the medians (target <= 1.5);
4. throughput: 20 submissions graded 2 at a time, each must score 10/10;
5. peak RSS of this process and of the moto zygote.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from engine import assignments, files  # noqa: E402 - after the sys.path insert
from engine.grading import grade  # noqa: E402
from engine.motoserver import shared_zygote  # noqa: E402

RUNTIME_PYTHON = "/opt/labgrader/runtime/bin/python"
ASSIGNMENT = "s3-content-manager"
STDIN = "student\n"
TARGET_RATIO = 1.5
THROUGHPUT_SUBMISSIONS = 20
THROUGHPUT_WORKERS = 2

SOLUTION = """\
import boto3

s3 = boto3.client("s3")
FILES = {
    "notes.txt": "Meeting notes: S3 lab kickoff.\\n",
    "todo.txt": "1. create bucket\\n2. upload files\\n3. clean up\\n",
    "readme.txt": "This bucket holds the intern lab files.\\n",
}
TAGGED = "notes.txt"


def upload(bucket):
    s3.create_bucket(Bucket=bucket)
    for name, text in FILES.items():
        with open(name, "w", encoding="utf-8") as handle:
            handle.write(text)
        extra = {"Tagging": "Project=Intern-Labs"} if name == TAGGED else None
        s3.upload_file(name, bucket, name, ExtraArgs=extra)


def audit(bucket):
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        print(f"{obj['Key']}: {obj['Size']} bytes")
    for tag in s3.get_object_tagging(Bucket=bucket, Key=TAGGED)["TagSet"]:
        print(f"{TAGGED} tag {tag['Key']} = {tag['Value']}")


def cleanup(bucket):
    # S3 refuses to delete a bucket that still holds objects (BucketNotEmpty),
    # so every object is deleted first, then the bucket itself.
    for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    name = input("Your name: ").strip().lower()
    bucket = f"lab-{name}"
    upload(bucket)
    audit(bucket)
    cleanup(bucket)
    print("done")
"""


# --- baseline: bare interpreter against a running moto ----------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            reset_moto(port)
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("moto_server did not come up")


def reset_moto(port: int) -> None:
    urllib.request.urlopen(
        urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"), timeout=5
    ).read()


def run_baseline(port: int) -> float:
    """One bare run; returns its wall time. Moto reset and temp dir are not timed."""
    reset_moto(port)
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
    }
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as work_dir:
        Path(work_dir, "main.py").write_text(SOLUTION, encoding="utf-8")
        started = time.perf_counter()
        # A session of its own, as the sandbox's: the kernel's autogroup gives each session
        # its own CPU share, so without it a busy machine favours the grader.
        result = subprocess.run(
            [RUNTIME_PYTHON, "main.py"],
            cwd=work_dir,
            env=env,
            input=STDIN.encode(),
            capture_output=True,
            check=False,
            start_new_session=True,
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"baseline run failed:\n{result.stderr.decode(errors='replace')}")
    return elapsed


# --- grading: the full pipeline ---------------------------------------------


def grade_solution(assignment):
    return grade(files=files.from_uploads([("main.py", SOLUTION.encode())]), assignment=assignment)


def run_grading(assignment) -> float:
    started = time.perf_counter()
    report = grade_solution(assignment)
    elapsed = time.perf_counter() - started
    require_full_marks(report)
    return elapsed


def require_full_marks(report) -> None:
    if report.score != report.max_score:
        failures = "\n".join(f"  {c.id}: {c.feedback}" for c in report.checks if not c.passed)
        print(
            f"\n!!! ERROR: the correct solution scored {report.score}/{report.max_score} !!!\n{failures}\n"
            f"stderr: {report.record.stderr[-1000:]}",
            file=sys.stderr,
        )
        raise SystemExit(1)


def throughput(assignment) -> tuple[float, list[float]]:
    """Grade THROUGHPUT_SUBMISSIONS submissions, THROUGHPUT_WORKERS at a time."""

    def one(_: int) -> tuple[float, object]:
        started = time.perf_counter()
        report = grade_solution(assignment)
        return time.perf_counter() - started, report

    started = time.perf_counter()
    with ThreadPoolExecutor(THROUGHPUT_WORKERS) as pool:
        results = list(pool.map(one, range(THROUGHPUT_SUBMISSIONS)))
    total = time.perf_counter() - started
    bad = [(i, r) for i, (_, r) in enumerate(results) if r.score != r.max_score]
    if bad:
        for i, report in bad:
            print(
                f"!!! ERROR: throughput submission {i} scored {report.score}/{report.max_score}: "
                + "; ".join(f"{c.id}: {c.feedback}" for c in report.checks if not c.passed),
                file=sys.stderr,
            )
        raise SystemExit(1)
    return total, [latency for latency, _ in results]


# --- reporting ----------------------------------------------------------------


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def describe(label: str, values: list[float]) -> str:
    return (
        f"{label:<10} median {statistics.median(values) * 1000:7.0f} ms   p90 {p90(values) * 1000:7.0f} ms"
        f"   min {min(values) * 1000:6.0f} ms   max {max(values) * 1000:6.0f} ms   (n={len(values)})"
    )


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM of a live process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each kind (default 15)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("warning: not root, so runs share this uid (not the production sandbox shape)", file=sys.stderr)

    assignment = assignments.load(ASSIGNMENT)
    port = free_port()
    moto = start_moto(port)
    try:
        print(
            f"warm-up: baseline {run_baseline(port) * 1000:.0f} ms, "
            f"grading (starts the moto zygote) {run_grading(assignment) * 1000:.0f} ms; solution scores 10/10"
        )
        baseline, grading = [], []
        for _ in range(args.runs):  # interleaved: A B A B ...
            baseline.append(run_baseline(port))
            grading.append(run_grading(assignment))
    finally:
        moto.kill()
        moto.wait()

    ratio = statistics.median(grading) / statistics.median(baseline)
    print(describe("baseline", baseline))
    print(describe("grading", grading))
    print(
        f"ratio      grading/baseline = {ratio:.2f}  (target <= {TARGET_RATIO})  "
        f"{'OK' if ratio <= TARGET_RATIO else 'OVER TARGET'}"
    )

    total, latencies = throughput(assignment)
    print(
        f"throughput {THROUGHPUT_SUBMISSIONS} submissions, {THROUGHPUT_WORKERS} at a time: {total:.2f} s total, "
        f"{THROUGHPUT_SUBMISSIONS / total:.2f} submissions/s, per-submission median "
        f"{statistics.median(latencies) * 1000:.0f} ms (p90 {p90(latencies) * 1000:.0f} ms); all scored 10/10"
    )

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    zygote_process = shared_zygote().process
    zygote = peak_rss_mib(zygote_process.pid) if zygote_process else None
    print(
        f"peak RSS   benchmark process {own:.0f} MiB, moto zygote "
        + (f"{zygote:.0f} MiB" if zygote is not None else "n/a")
    )


def stop_zygote() -> None:
    shared_zygote().close()  # kills the zygote and removes its control directory


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_zygote()
