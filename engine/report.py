"""Human-readable renderings of a grade report, for the terminal."""

from __future__ import annotations

import textwrap

from engine.grading import GradeReport


def render_text(report: GradeReport, *, title: str = "") -> str:
    r = report.record
    lines = [f"{title or report.assignment}: {report.score}/{report.max_score}", ""]
    for c in report.checks:
        mark = "PASS" if c.passed else ("ERROR" if c.error else "FAIL")
        lines.append(f"  [{mark}] {c.name} ({c.points}/{c.max_points})")
        lines.extend(textwrap.wrap(c.feedback, width=88, initial_indent="         ", subsequent_indent="         "))
    status = "timed out" if r.timed_out else f"exit code {r.exit_code}"
    lines += ["", f"Run: {r.entry_point}, {status}, {r.duration_s:.2f} s, {len(r.calls) + r.calls_dropped} S3 calls"]
    if r.mock_incident:
        lines.append(f"The mock S3 stopped early: {r.mock_incident}. The calls recorded until then were graded.")
    for label, text, cut in (("stdout", r.stdout, r.stdout_truncated), ("stderr", r.stderr, r.stderr_truncated)):
        if text.strip():
            lines.append(f"--- {label}{' (truncated)' if cut else ''} ---")
            lines.append(_tail(text))
    return "\n".join(lines)


def _tail(text: str, max_lines: int = 40) -> str:
    rows = text.rstrip("\n").splitlines()
    if len(rows) <= max_lines:
        return "\n".join(rows)
    return "\n".join([f"... ({len(rows) - max_lines} lines above)"] + rows[-max_lines:])
