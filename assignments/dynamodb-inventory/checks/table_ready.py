"""Table + waiter: inventory-<name> was created with a single partition key sku (S) and
on-demand billing, and a successful DescribeTable on it came after CreateTable and
before its first write (the table_exists waiter).

Decisions where the spec is silent:
- The definition judged is the table the mock created (its state after CreateTable);
  CreateTable's parameters stand in only when the record lacks that state. A CreateTable
  that sends no BillingMode makes a provisioned table, as in AWS.
- "Its first write" is the first write request naming the table after CreateTable
  (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) or the first call
  that changed its items, answered or refused: sending it before waiting is the mistake.
- A table never written to passes the waiter rule with any successful DescribeTable after
  CreateTable (the Load check takes the missing items).
- A table created more than once under the expected name passes if one creation meets
  every rule; the feedback is about the first.
- When no table has the expected name, the table the run did use (the target table, else
  the first created) is judged too, so the feedback lists every problem at once.
"""

from checks.base import Verdict, failed, passed
from checks.evidence import run_problem
from engine.record import RunRecord

from . import _inventory as inv

ID = "table_ready"
NAME = "Table + waiter"


def check(record: RunRecord) -> Verdict:
    if message := inv.no_calls_text(record):
        return failed(message)
    line = inv.replay(record)
    expected = inv.expected_table(record)
    mine = [creation for creation in line.creations if creation.table == expected]
    judged = [_problems(creation) for creation in mine]
    if mine and not all(judged):
        return passed(
            f"Created {expected} with the single partition key sku (S) and on-demand billing,"
            " and waited for it with DescribeTable before writing."
        )
    if judged:
        return failed(*judged[0], inv.dropped_note(record), run_problem(record))
    problems = [_name_problem(line, expected)]
    used = line.target
    if used is not None:
        problems += _problems(next(c for c in line.creations if c.table == used))
    return failed(*problems, inv.dropped_note(record), run_problem(record))


def _problems(creation: inv.Creation) -> list[str]:
    return [p for p in (*_definition_problems(creation), _waiter_problem(creation)) if p]


def _definition_problems(creation: inv.Creation) -> list[str]:
    params = inv.params_of(creation.call)
    schema = inv.key_schema(creation.description, params)
    types = inv.attribute_types(creation.description, params)
    table = creation.table
    problems = []
    if schema is None:
        problems.append(
            f"The record does not show the key schema of {table}; the lab asks for the partition key 'sku'."
        )
    else:
        hashes = [name for name, kind in schema if kind == "HASH"]
        others = [name for name, kind in schema if kind != "HASH"]
        if not hashes:
            problems.append(f"{table} has no partition (HASH) key; the lab asks for 'sku'.")
        elif hashes[0] != "sku":
            problems.append(f"Partition key is {hashes[0]!r} ({types.get(hashes[0], '?')}); the lab asks for 'sku'.")
        elif types.get("sku") != "S":
            problems.append(
                f"Partition key 'sku' has type {types.get('sku', 'unknown')}; the lab asks for S (a string)."
            )
        if others:
            problems.append(
                f"{table} also has the key {others[0]!r} (a sort key); the lab asks for the single partition key 'sku'."
            )
    mode = inv.billing_mode(creation.description, params)
    if mode != "PAY_PER_REQUEST":
        problems.append(
            f"{table} uses billing mode {mode} (provisioned capacity); the lab asks for on-demand:"
            " BillingMode='PAY_PER_REQUEST'."
        )
    return problems


def _waiter_problem(creation: inv.Creation) -> str:
    if creation.described:
        return ""
    write = creation.first_write
    first = f" ({write.operation} on {creation.table})" if write is not None else ""
    if creation.describe_error:
        return (
            f"No successful DescribeTable between CreateTable and the first write{first}: DescribeTable"
            f" answered {creation.describe_error}. Use the table_exists waiter on {creation.table}."
        )
    return f"No DescribeTable between CreateTable and the first write{first}: use the table_exists waiter."


def _name_problem(line: inv.Replay, expected: str) -> str:
    errors = line.failed(["CreateTable"], expected)
    if line.created:
        made = inv.names(line.created, 3)
        return (
            f"No table named {expected} was created (the run created {made}): name the table"
            f" inventory-<your name in lower case>. {errors}"
        ).strip()
    return f"No table was created during the run. {errors or line.failed(['CreateTable'])}".strip()
