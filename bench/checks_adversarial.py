"""Check time on records built to be slow (issue 8, item 5), beside a normal record.

Run from the repository root (no sandbox, no root needed: it grades stored records):

    .venv/bin/python bench/checks_adversarial.py
    .venv/bin/python bench/checks_adversarial.py --repeat 5

For each record it runs every check of both assignments (s3-content-manager and
s3-walkthrough) through engine.grading.evaluate(), as a re-check of a stored record
does, and prints the wall and CPU time of each check and the total (the best of
--repeat runs; each run grades a fresh copy of the record, so no memo survives
between runs). The machine is shared: CPU time is the figure that holds.

- normal: a correct lab run (tests.records.correct_run);
- issue 8: 2,300 empty buckets, a bulk bucket listed after each of 1,000 uploads,
  and five 1 MiB modules of string tokens before a main.py that explains nothing;
- many keys: one bucket listed after each of 1,950 uploads, each key printed
  with its size (the most keys a 5,000-call record can audit).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from engine import assignments  # noqa: E402
from engine.grading import evaluate  # noqa: E402
from tests.adversarial import adversarial_run  # noqa: E402
from tests.records import ScriptRun, correct_run  # noqa: E402

ASSIGNMENTS = ("s3-content-manager", "s3-walkthrough")
RECORDS = {
    "normal": correct_run,
    "issue 8": adversarial_run,
    "many keys": lambda: adversarial_run(buckets=0, uploads=1950, modules=0),
}


def time_checks(run: ScriptRun) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds per check for one evaluation of a fresh record, the checks timed one by one,
    imported here (the grader runs them confined: its evaluation as a whole is timed in main())."""
    timings: dict[str, tuple[float, float]] = {}
    record = run.record()
    for slug in ASSIGNMENTS:
        assignment = assignments.load(slug)
        for spec in assignment.checks:
            check = assignment.load_check(spec.id).check
            wall, cpu = time.perf_counter(), time.process_time()
            check(record)
            timings[spec.id] = (time.perf_counter() - wall, time.process_time() - cpu)
    return timings


def best_of(run: ScriptRun, repeat: int) -> dict[str, tuple[float, float]]:
    rounds = [time_checks(run) for _ in range(repeat)]
    return {check_id: min((r[check_id] for r in rounds), key=lambda t: t[1]) for check_id in rounds[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per record; the best is shown")
    args = parser.parse_args()
    for label, build in RECORDS.items():
        run = build()
        timings = best_of(run, args.repeat)
        calls, source = len(run.calls), sum(len(s) for s in run.sources.values())
        print(f"{label}: {calls} calls, {source / 1024:.0f} KiB of source, {len(run.stdout.splitlines())} stdout lines")
        print(f"  {'check':<22} {'wall ms':>9} {'CPU ms':>9}")
        for check_id, (wall, cpu) in timings.items():
            print(f"  {check_id:<22} {wall * 1000:9.1f} {cpu * 1000:9.1f}")
        wall, cpu = (sum(t[i] for t in timings.values()) for i in (0, 1))
        print(f"  {'total':<22} {wall * 1000:9.1f} {cpu * 1000:9.1f}")
        record = run.record()
        labs = [assignments.load(slug) for slug in ASSIGNMENTS]
        confined = min(_timed(lambda r=record, labs=labs: [evaluate(r, lab) for lab in labs]) for _ in range(3))
        print(f"  {'confined, as graded':<22} {confined * 1000:9.1f}   (both labs' checks in the checks sandbox)")


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
