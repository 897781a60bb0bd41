"""Cleanup: DeleteTable on the target table succeeded, a DescribeTable on it afterwards
answered ResourceNotFoundException (the table_not_exists waiter), no table created
during the run exists at the end, and the source explains why the waiter is needed.

Decisions where the spec is silent:
- "After the delete" is after the last successful DeleteTable of the target table.
- The end state is record.final_services["dynamodb"] (exact even past the recording cap);
  a record without it is judged on the replayed state. When calls were dropped, every
  table left at the end counts as created during the run (the mock starts empty).
- The explanation is looked for in comments, docstrings and strings (read like the
  Documentation check of Lab 06, with its size caps). It counts when one of them says
  (case-insensitive unless noted):
  1. deletion is asynchronous: "async", "asynchronous(ly)", "in the background" or
     "non-blocking" together with a word for deleting (delete, deletion, remove, drop);
  2. the DELETING status: the word DELETING in capitals, or "deleting state/status";
  3. waiting until the table is gone: "wait" then, within 80 characters, "until", "till"
     or "for", then within 80 more (after any of those) "gone", "no longer exists/there/found", "not exist",
     "does not/doesn't exist", "disappears" or "is/be (really/fully/...) deleted/removed".
  Naming the waiter alone ("use table_not_exists") or "wait until it is ACTIVE" does not count.
"""

import re
from bisect import bisect_left, bisect_right

from checks.base import Verdict, failed, passed
from checks.evidence import run_problem
from checks.prose import Scan, prose_chunks, reading_order
from engine.record import RunRecord

from . import _inventory as inv

ID = "cleanup_waited"
NAME = "Cleanup"
NAMED_LEFTOVERS = 5

_DELETION = re.compile(r"\b(delet|remov|drop)", re.IGNORECASE)
_ASYNC = re.compile(r"\basync(hronous(ly)?)?\b|\bin the background\b|\bnon-?blocking\b", re.IGNORECASE)
_STATUS = re.compile(r"\bDELETING\b|(?i:\bdeleting['\"]?\s+(state|status)\b|\b(state|status)\s+['\"]?deleting\b)")
_WAIT = re.compile(r"\bwait(s|ed|ing)?\b", re.IGNORECASE)
_UNTIL = re.compile(r"\b(until|till|for)\b", re.IGNORECASE)
_GONE = re.compile(
    r"\b(gone|no\s+longer\s+(exists?|there|found|finds?)|not\s+exists?|does\s*n[o']t\s+exist|disappear(s|ed)?"
    r"|(is|are|was|be|has\s+been|been)\s+((really|fully|completely|actually|truly)\s+)?(deleted|removed))\b",
    re.IGNORECASE,
)
WINDOW = 80  # characters between "wait" and "until", and between "until" and "gone"


def check(record: RunRecord) -> Verdict:
    if message := inv.no_calls_text(record):
        return failed(message)
    line = inv.replay(record)
    table = line.target
    if table is None:
        return failed("No table was created during the run, so there was nothing to clean up.", run_problem(record))
    left = leftovers(record, line)
    problems = [_leftover(line, name, count) for name, count in left[:NAMED_LEFTOVERS]]
    if len(left) > NAMED_LEFTOVERS:
        problems.append(f"{len(left) - NAMED_LEFTOVERS} more tables created during the run still exist.")
    if table not in dict(left):
        problems.append(_waiter_problem(line, table))
    explanation = explained(record)
    if explanation is None:
        problems.append(
            "No comment, docstring or string explains why the waiter is needed after delete_table: add one,"
            " e.g. '# delete_table is asynchronous: the table stays DELETING for a while, so wait until it is gone.'"
        )
    if any(problems):
        return failed(*problems, inv.dropped_note(record), run_problem(record))
    name, quote = explanation
    return passed(
        f"Deleted {table}, waited until DescribeTable answered {inv.NOT_FOUND}, and left no table behind;"
        f' {name} explains why: "{quote}"'
    )


def leftovers(record: RunRecord, line: inv.Replay) -> list[tuple[str, int]]:
    """The tables created during the run that exist at the end, with their item counts."""
    final = record.final_services.get(inv.SERVICE) if isinstance(record.final_services, dict) else None
    if isinstance(final, dict):
        counts = {name: _count(state) for name, state in final.items() if isinstance(name, str)}
    else:
        counts = {name: len(state.items) for name, state in line.end.items()}
    created = [name for name in line.created if name in counts]
    if record.calls_dropped:
        known = set(created)
        created += [name for name in counts if name not in known]
    return [(name, counts[name]) for name in created]


def _count(state) -> int:
    entries = state.get("entries") if isinstance(state, dict) else None
    return len(entries) if isinstance(entries, dict) else 0


def _leftover(line: inv.Replay, table: str, count: int) -> str:
    still = f"Table {table} still exists at the end ({count} item{'s' if count != 1 else ''})"
    delete = line.last_delete.get(table)
    if delete is None:
        return f"{still}: DeleteTable was never called on it."
    if not delete.ok:
        return f"{still}: DeleteTable failed with {delete.error_code or delete.status}."
    return f"{still}: it was created again after DeleteTable."


def _waiter_problem(line: inv.Replay, table: str) -> str:
    if table not in line.deleted_at:
        return f"DeleteTable on {table} never succeeded: delete it, then wait with table_not_exists."
    if table in line.gone_confirmed:
        return ""
    if table in line.found_after_delete:
        return (
            f"DescribeTable after DeleteTable still found {table} and never answered {inv.NOT_FOUND}:"
            " wait with table_not_exists until the table is gone."
        )
    return "No DescribeTable after DeleteTable: wait with table_not_exists."


def explained(record: RunRecord) -> tuple[str, str] | None:
    """(file, quote) of the first comment, docstring or string that explains the waiter."""
    scan = Scan()
    for name, source in reading_order(record):
        head = scan.head(name, source)
        for text in prose_chunks(head, scan.tokens(name, head)):
            if explains_waiter(text):
                return name, " ".join(text.split())[:120]
    return None


def explains_waiter(text: str) -> bool:
    if _STATUS.search(text) or waits_until_gone(text):
        return True
    return bool(_ASYNC.search(text) and _DELETION.search(text))


def waits_until_gone(text: str) -> bool:
    """ "wait", "until" within WINDOW characters, then "gone" within WINDOW more.

    What the regex wait.{0,80}?until.{0,80}?gone would find, in linear time: that regex
    backtracks through every "until" near every "wait", and a padded string of them
    would cost seconds. The "until"s within reach of a "wait" are less than WINDOW apart,
    so the places they let "gone" start form one range: from the end of the first to
    WINDOW past the end of the last.
    """
    waits = [match.end() for match in _WAIT.finditer(text)]
    if not waits:
        return False
    untils = [match.span() for match in _UNTIL.finditer(text)]
    starts = [start for start, _end in untils]
    gones = [match.start() for match in _GONE.finditer(text)]
    for end in waits:
        first, last = bisect_left(starts, end), bisect_right(starts, end + WINDOW) - 1
        if first > last:
            continue
        gone = bisect_left(gones, untils[first][1])
        if gone < len(gones) and gones[gone] <= untils[last][1] + WINDOW:
            return True
    return False
