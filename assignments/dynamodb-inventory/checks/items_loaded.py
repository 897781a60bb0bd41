"""Load: at its fullest the target table held exactly the rows of inventory.csv, one item
per sku, each with qty and price stored as numbers (type N).

Decisions where the spec is silent:
- The items judged are those the target table held the first time it was at its fullest:
  the load's result, before any sale changed them.
- Items are told apart by their sku attribute, or by the table's own partition key when
  they have none, so a table keyed on 'SKU' loaded with every row passes here (table_ready
  takes the key name).
- "Exactly 25" is the number of distinct skus of the run's inventory.csv (25 in the
  provided file); qty and price values are not compared with the CSV, only their types.
"""

from checks.base import Verdict, failed, passed
from checks.evidence import run_problem
from engine.record import RunRecord

from . import _inventory as inv

ID = "items_loaded"
NAME = "Load"
NUMBER_ATTRIBUTES = ("qty", "price")


def check(record: RunRecord) -> Verdict:
    if message := inv.no_calls_text(record):
        return failed(message)
    line = inv.replay(record)
    table = line.target
    if table is None:
        return failed(
            "No table was created during the run, so no items were loaded.",
            line.failed(["CreateTable"]),
            run_problem(record),
        )
    snapshot = line.held_at_peak(table)
    if not snapshot.items:
        return failed(
            f"The table {table} never held any items: write the rows of inventory.csv"
            " with batch_writer() or batch_write_item.",
            line.failed(inv.WRITE_OPERATIONS, table),
            inv.dropped_note(record),
            run_problem(record),
        )
    expected = inv.csv_skus(record)
    problems = [_count_problem(table, snapshot, expected), *_type_problems(snapshot)]
    if any(problems):
        return failed(*problems, inv.dropped_note(record), run_problem(record))
    return passed(f"{table} held all {snapshot.count} rows of inventory.csv, with qty and price stored as numbers.")


def _count_problem(table: str, snapshot: inv.Snapshot, expected: list[str]) -> str:
    partition = inv.partition_key(snapshot.description)
    held = {inv.item_sku(item, partition) for item in snapshot.items.values()}
    wanted = set(expected)
    missing = [sku for sku in expected if sku not in held]
    extra = sorted(sku for sku in held - wanted if sku is not None)
    count = snapshot.count
    if not missing and not extra and count == len(wanted):
        return ""
    sentences = [f"The table {table} held {count} item{'s' if count != 1 else ''} at its fullest"]
    if missing:
        sentences.append(f"{_skus(missing)} {'is' if len(missing) == 1 else 'are'} missing")
    if extra:
        sentences.append(f"{_skus(extra)} {'is' if len(extra) == 1 else 'are'} not in inventory.csv")
    if not missing and not extra:
        sentences.append(f"inventory.csv has {len(wanted)} rows")
    return "; ".join(sentences) + "."


def _skus(skus: list[str]) -> str:
    return f"sku{'s' if len(skus) > 1 else ''} {inv.names(skus)}"


def _type_problems(snapshot: inv.Snapshot) -> list[str]:
    """One sentence per attribute that is not a number somewhere: the first item named, the rest counted."""
    partition = inv.partition_key(snapshot.description)
    problems = []
    for attribute in NUMBER_ATTRIBUTES:
        wrong = [item for item in snapshot.items.values() if "N" not in _attr(item, attribute)]
        if not wrong:
            continue
        first = wrong[0]
        sku = inv.item_sku(first, partition) or "an item"
        value = first.get(attribute)
        if value is None:
            sentence = f"{sku} has no {attribute} attribute; store {attribute} as a number."
        else:
            sentence = (
                f"{attribute} of {sku} is stored as {inv.type_name(value)} ({inv.shown_value(value)});"
                " store numbers as numbers."
            )
        if len(wrong) > 1:
            more = len(wrong) - 1
            sentence += (
                f" ({more} more item{'s' if more > 1 else ''} store{'' if more > 1 else 's'} {attribute} the same way.)"
            )
        problems.append(sentence)
    return problems


def _attr(item: dict, name: str) -> dict:
    value = item.get(name)
    return value if isinstance(value, dict) else {}
