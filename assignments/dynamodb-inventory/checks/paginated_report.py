"""Report: the target table was read page by page (Scan or Query with Limit <= 10, the next
pages with ExclusiveStartKey) while it held all its items, and stdout then shows
`items: <what it held>` and `total qty: <the true sum of qty>`.

Decisions where the spec is silent:
- A paginated read is a run of successful Scans (or Queries) of the target table: one sent
  without ExclusiveStartKey starts a read, the ones with it continue it. Other calls in
  between do not end it. A paginator and a loop passing LastEvaluatedKey back make the same calls.
- "At least 3 Scans" is asked as "the pages could reach every item": every call has a
  Limit from 1 to 10 and the Limits add up to at least the items the table held. With
  25 items that is 3 Scans or more, as the spec says; a table loaded with fewer items
  (the Load check's mistake) needs only as many pages as it takes.
- "While it held all its items": every call of the read came while the table held as
  many items as it ever held.
- The numbers judged are the first `items: N` and `total qty: N` printed after the last
  call of the read (the whole stdout when the record has no stdout positions). A run
  that reads more than once passes if one paginated read is followed by the right numbers.
- The true sum counts a qty stored as a numeric string with its value (the Load check
  takes the type), so a table loaded with 24 items and reported as `items: 24` passes.
- Past the record's entry cap (2,000 items a table) the record holds only some items:
  the item count stays exact, their qty sum is not compared.
- Without a paginated read, the numbers are still compared with the table's content at
  its last read, so the feedback names every mistake at once.
"""

from checks.base import Verdict, failed, passed
from checks.evidence import run_problem
from engine.record import RunRecord

from . import _inventory as inv

ID = "paginated_report"
NAME = "Report"
MAX_PAGE = 10


def check(record: RunRecord) -> Verdict:
    if message := inv.no_calls_text(record):
        return failed(message)
    line = inv.replay(record)
    table = line.target
    if table is None:
        return failed("No table was created during the run, so there was nothing to report.", run_problem(record))
    held = line.peak.get(table, 0)
    if not held:
        return failed(f"The table {table} never held any items, so there was nothing to report.", run_problem(record))
    reads = paginated_reads(line.reads_of(table))
    if not reads:
        return failed(
            f"The table {table} was never read with Scan or Query: read it with get_paginator('scan')"
            f" and PageSize <= {MAX_PAGE}.",
            line.failed(inv.READ_OPERATIONS, table),
            inv.dropped_note(record),
            run_problem(record),
        )
    shown = inv.printed(record)
    good = [read for read in reads if not _read_problems(read, held)]
    for read in good:
        if not _number_problems(record, shown, read):
            return passed(_praise(table, read))
    if good:
        return failed(*_number_problems(record, shown, good[-1]), run_problem(record))
    closest = max(reads, key=lambda read: (read[-1].count == held, len(read), read[-1].index))
    return failed(
        *_read_problems(closest, held),
        *_number_problems(record, shown, closest),
        inv.dropped_note(record),
        run_problem(record),
    )


def paginated_reads(reads: list[inv.Read]) -> list[list[inv.Read]]:
    """The reads grouped into paginated reads: a call without ExclusiveStartKey starts one."""
    grouped: list[list[inv.Read]] = []
    for read in reads:
        if read.continued and grouped and grouped[-1][-1].call.operation == read.call.operation:
            grouped[-1].append(read)
        else:
            grouped.append([read])
    return grouped


def _read_problems(read: list[inv.Read], held: int) -> list[str]:
    first, operation = read[0], read[0].call.operation
    table, count = first.table, read[-1].count
    problems = []
    partial = [r for r in read if r.count != held]
    if partial:
        problems.append(
            f"The {operation} calls of {table} ran while it held {partial[0].count} items; it held {held}"
            " once loaded: read it after writing every row."
        )
    unlimited = [r for r in read if r.limit is None]
    if unlimited:
        if len(read) == 1:
            problems.append(
                f"One {operation} without Limit read all {count} items: use get_paginator('scan')"
                f" with PageSize <= {MAX_PAGE}."
            )
        else:
            problems.append(
                f"{len(unlimited)} of the {len(read)} {operation} calls had no Limit:"
                f" set PaginationConfig={{'PageSize': {MAX_PAGE}}} (or less)."
            )
        return problems
    largest = max(r.limit for r in read)
    if largest > MAX_PAGE or largest < 1:
        problems.append(
            f"The {operation} calls used Limit {largest}; the lab asks for a page size from 1 to {MAX_PAGE}"
            f" (PaginationConfig={{'PageSize': {MAX_PAGE}}})."
        )
    elif sum(r.limit for r in read) < count:
        calls = f"{len(read)} {operation} call{'s' if len(read) != 1 else ''}"
        problems.append(
            f"The paginated read of {table} stopped after {calls} with Limit {largest} (at most"
            f" {sum(r.limit for r in read)} of its {count} items): follow LastEvaluatedKey as ExclusiveStartKey"
            " until there is none (the paginator does this)."
        )
    return problems


def _number_problems(record: RunRecord, shown: inv.Printed, read: list[inv.Read]) -> list[str]:
    last = read[-1]
    items = shown.first_after(shown.items, last.call.stdout_after)
    total = shown.first_after(shown.totals, last.call.stdout_after)
    where = "after the paginated read" if inv.is_position(last.call.stdout_after) else ""
    cut = " (stdout was cut at the output limit.)" if record.stdout_truncated else ""
    true_total = inv.show_number(last.qty_total) if last.qty_total is not None else ""
    problems = []
    if items is None:
        problems.append(f"stdout shows no 'items: <n>' line {where}; the table held {last.count}.{cut}")
    elif items != last.count:
        problems.append(f"stdout shows items: {inv.show_number(items)}; the table held {last.count}.")
    if last.qty_total is None:
        pass  # the record holds only some of its items: their sum is not the table's
    elif total is None:
        problems.append(f"stdout shows no 'total qty: <n>' line {where}; the table held {true_total}.{cut}")
    elif total != last.qty_total:
        problems.append(f"stdout shows total qty: {inv.show_number(total)}; the table held {true_total}.")
    return [" ".join(p.split()) for p in problems]


def _praise(table: str, read: list[inv.Read]) -> str:
    last = read[-1]
    return (
        f"Read {table} in {len(read)} pages of at most {max(r.limit or 0 for r in read)} items"
        f" (ExclusiveStartKey on the next ones), and stdout shows items: {last.count}"
        + (f" and total qty: {inv.show_number(last.qty_total)}." if last.qty_total is not None else ".")
    )
