"""Conditional write: an UpdateItem with a ConditionExpression decremented some item's qty;
another failed with ConditionalCheckFailedException on an item whose qty was 0; the
script caught that failure and went on; and stdout then shows `out of stock: <that sku>`.

Decisions where the spec is silent:
- The sales may be on any table of the run (not only the target table): the skill is the
  conditional write. The item a failed update named is found by its Key in the table's
  state at that moment; its sku is read as items_loaded reads it.
- Only ConditionExpression counts as a condition (not the legacy Expected parameter).
- "Caught": a DynamoDB call came after the failure, or the run ended normally. A run that
  ended with an uncaught ConditionalCheckFailedException did not catch its last failed
  update, even if a `finally` made calls after it.
- `out of stock: <sku>` counts when printed after the failed update was answered (anywhere
  in stdout for records without stdout positions); the sku must follow the colon.
- Among several failed conditional updates the check passes if one meets every rule;
  otherwise the feedback is about the one that came closest (the first of those).
"""

from checks.base import Verdict, failed, passed
from checks.evidence import last_error, run_problem
from engine.record import RunRecord

from . import _inventory as inv

ID = "conditional_sell"
NAME = "Conditional write"
EXAMPLE = "ConditionExpression='qty >= :n'"


def check(record: RunRecord) -> Verdict:
    if message := inv.no_calls_text(record):
        return failed(message)
    line = inv.replay(record)
    conditional = [u for u in line.updates if u.conditional]
    if not conditional:
        if line.updates:
            lead = (
                "No UpdateItem had a ConditionExpression: sell() must let DynamoDB refuse the sale"
                f" ({EXAMPLE}) instead of checking the stock in Python."
            )
        else:
            lead = f"No UpdateItem was made: sell() must decrement qty with update_item and a {EXAMPLE}."
        return failed(lead, inv.dropped_note(record), run_problem(record))
    problems = [_sale_problem(conditional)]
    refused = [u for u in conditional if u.call.error_code == inv.CONDITION_FAILED]
    if not refused:
        problems.append(_no_refusal_problem(line, conditional))
        return failed(*problems, inv.dropped_note(record), run_problem(record))
    # Only the last failure can be the one the run crashed with.
    crashed = record.exit_code not in (0, None) and inv.CONDITION_FAILED in last_error(record.stderr)
    judged = [(_refusal_problems(record, line, u, crashed and u is refused[-1]), u) for u in refused]
    best_problems, best = min(judged, key=lambda pair: len(pair[0]))
    problems += best_problems
    if any(problems):
        return failed(*problems, inv.dropped_note(record), run_problem(record))
    sale = next(u for u in conditional if u.decremented)
    return passed(
        f"Sold {sale.sku} with a conditional UpdateItem (qty {inv.show_number(sale.qty_before)} ->"
        f" {inv.show_number(sale.qty_after)}); the update of {best.sku} (qty 0) failed with"
        f" {inv.CONDITION_FAILED}, was caught, and stdout shows out of stock: {best.sku}."
    )


def _sale_problem(conditional: list[inv.Update]) -> str:
    if any(u.decremented for u in conditional):
        return ""
    done = [u for u in conditional if u.call.ok]
    detail = ""
    if done:
        u = done[0]
        qty = inv.show_number(u.qty_after) if u.qty_after is not None else "no number"
        detail = f" (the one that succeeded, on {u.sku or 'an item'}, left qty at {qty})"
    return (
        f"No UpdateItem with a ConditionExpression decremented a qty{detail}:"
        " call sell() once for an item in stock, with UpdateExpression='SET qty = qty - :n'."
    )


def _no_refusal_problem(line: inv.Replay, conditional: list[inv.Update]) -> str:
    errors = [u for u in conditional if not u.call.ok]
    detail = ""
    if errors:
        u = errors[0]
        detail = f" (the update of {u.sku or 'an item'} failed with {u.call.error_code or u.call.status})"
    return (
        f"No conditional UpdateItem failed with {inv.CONDITION_FAILED}{detail}: call sell() once for an"
        f" item whose qty is 0{_zero_hint(line)}."
    )


def _refusal_problems(record: RunRecord, line: inv.Replay, update: inv.Update, crashed: bool) -> list[str]:
    sku = update.sku or "an item"
    problems = []
    if not update.found:
        problems.append(
            f"The conditional update that failed was on {sku}, which the table did not hold: sell an item"
            f" whose qty is 0{_zero_hint(line)}."
        )
    elif update.qty_before != 0:
        qty = inv.show_number(update.qty_before) if update.qty_before is not None else "not a number"
        problems.append(
            f"The conditional update that failed was on {sku}, whose qty was {qty}: the lab asks to sell"
            f" an item whose qty is 0{_zero_hint(line)}."
        )
    later = update.index < len(line.calls) - 1
    if crashed:
        problems.append(
            f"The failed conditional update was not caught: the script crashed with {inv.CONDITION_FAILED}."
            f" Catch the ClientError in sell() and print out of stock: {sku}."
        )
    elif not later and (record.exit_code != 0 or record.timed_out):
        problems.append(
            f"The script made no call after the failed conditional update of {sku}: catch the ClientError,"
            " check its code is ConditionalCheckFailedException, and go on."
        )
    # A crash says already why nothing was printed.
    if (
        not crashed
        and update.sku is not None
        and not inv.printed(record).shows_out_of_stock(update.sku, update.call.stdout_after)
    ):
        problems.append(_message_problem(record, update.sku))
    return problems


def _message_problem(record: RunRecord, sku: str) -> str:
    shown = inv.printed(record)
    if sku in shown.out_of_stock:
        return (
            f"stdout shows 'out of stock: {sku}' only before the failed update was answered:"
            " print it where you catch the failure."
        )
    first = shown.out_of_stock_first
    if first is not None:
        return f"stdout shows '{first[1].strip()}', not 'out of stock: {sku}': print the sku that could not be sold."
    cut = " (stdout was cut at the output limit.)" if record.stdout_truncated else ""
    return f"stdout never shows 'out of stock: {sku}' after the failed update.{cut}"


def _zero_hint(line: inv.Replay) -> str:
    """' (A-103, B-204, D-303)': the target table's items with qty 0 once loaded."""
    if "zero_hint" not in line.memo:
        line.memo["zero_hint"] = _zero_skus(line)
    return line.memo["zero_hint"]


def _zero_skus(line: inv.Replay) -> str:
    if line.target is None:
        return ""
    snapshot = line.held_at_peak(line.target)
    partition = inv.partition_key(snapshot.description)
    zero = [
        inv.item_sku(item, partition)
        for item in snapshot.items.values()
        if inv.number(item.get("qty")) == 0 and inv.item_sku(item, partition)
    ]
    return f" ({inv.names(sorted(zero), 3)})" if zero else ""
