"""Questions the Lab 07 checks share: one replay of the run's DynamoDB calls.

replay(record) walks the DynamoDB calls once, in order, applying each call's
recorded service changes, and keeps what the checks ask about, call by call:
the tables created, how many items each held at most and when, every Scan or
Query with what its table held at that moment (count and true sum of qty),
every UpdateItem with the qty of the item it named before and after, the
DescribeTable calls between a CreateTable and the table's first write, and the
DescribeTable calls after a DeleteTable. It copies no table: what a table held
at its fullest is rebuilt on demand by a second linear pass over that one table.
The replay is built once per record and shared by the five checks.

Decisions where the spec is silent, shared by the checks:
- The username is the first line of stdin, stripped, in lower case; the expected
  table name is inventory-<that>.
- "Created during the run": a table that appears in the replayed state (a
  ServiceChange describing it where no table of that name existed), or, when the
  record lacks that change, a successful CreateTable.
- An item's sku is its `sku` attribute, or, when it has none, the value of the
  table's own partition key: a table keyed on 'SKU' still holds the skus of the CSV,
  so a wrong key name costs table_ready only.
- A qty counts in the "true sum" with its numeric value even when it is stored
  as a numeric string: storing numbers as strings costs items_loaded only.
- The rows of inventory.csv are those of the file the run started with
  (record.input_files); when the record has none or it holds no sku, the provided file.
- Params are untrusted: a value of an unexpected type (a capped string where a
  dict was expected, a bool for Limit) is treated as absent.
"""

from __future__ import annotations

import csv
import io
import re
import weakref
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Context, Decimal
from pathlib import Path
from typing import Any, NamedTuple

from checks.evidence import run_problem
from engine.record import Call, RunRecord, ServiceChange

SERVICE = "dynamodb"
PROVIDED_CSV = Path(__file__).resolve().parent.parent / "files" / "inventory.csv"
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"Scan", "Query"})
CONDITION_FAILED = "ConditionalCheckFailedException"
NOT_FOUND = "ResourceNotFoundException"
# Requests the mock refused or never dispatched: no DynamoDB call of the script.
_IGNORED_OPERATIONS = frozenset({"NonS3", "MotoApi", "RefusedService", "RefusedRequest", "Unconfirmed"})

# Sums of qty are kept exactly: numbers are at most 60 characters with a 3-digit
# exponent (anything else is not a number here), so 2,500 digits never round.
_EXACT = Context(prec=2500)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_TYPE_NAMES = {
    "S": "a string",
    "B": "binary",
    "BOOL": "a boolean",
    "NULL": "null",
    "L": "a list",
    "M": "a map",
    "SS": "a string set",
    "NS": "a number set",
    "BS": "a binary set",
}


# --- values in DynamoDB's wire format -------------------------------------------------


def typed_value(attr: Any) -> tuple[str, str] | None:
    """("S", "A-100") for {"S": "A-100"}; None for anything else."""
    if isinstance(attr, dict) and len(attr) == 1:
        ((kind, value),) = attr.items()
        if isinstance(kind, str) and isinstance(value, str):
            return kind, value
    return None


def number(attr: Any) -> Decimal | None:
    """The numeric value of {"N": "12"}, or of a numeric string {"S": "12"}; None otherwise."""
    typed = typed_value(attr)
    if typed is None or typed[0] not in ("N", "S") or len(typed[1]) > 60:
        return None
    text = typed[1].strip()
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def type_name(attr: Any) -> str:
    """How a student would say the attribute's type: 'a string', 'a map', ..."""
    if isinstance(attr, dict) and len(attr) == 1:
        return _TYPE_NAMES.get(next(iter(attr)), "not a number")
    return "not a number"


def shown_value(attr: Any) -> str:
    """The attribute's value as the feedback quotes it: '12'."""
    value = next(iter(attr.values())) if isinstance(attr, dict) and len(attr) == 1 else attr
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "...'"


def show_number(value: Decimal) -> str:
    """243 rather than 2.43E+2; 3.5 stays 3.5."""
    if value == value.to_integral_value(context=_EXACT):
        return str(int(value))
    return format(_EXACT.normalize(value), "f")


def item_sku(item: dict, partition_key: str | None) -> str | None:
    """The item's sku attribute, or its partition key's value when it has no sku."""
    for name in ("sku", partition_key):
        typed = typed_value(item.get(name)) if name else None
        if typed is not None:
            return typed[1]
    return None


# --- a table's definition --------------------------------------------------------------


def key_schema(description: Any, params: Any = None) -> list[tuple[str, str]] | None:
    """[(attribute name, "HASH" or "RANGE")], from the table's state, else from CreateTable's params."""
    for source, name in ((description, "key_schema"), (params, "KeySchema")):
        schema = source.get(name) if isinstance(source, dict) else None
        if isinstance(schema, list) and schema:
            pairs = [
                (element.get("AttributeName"), element.get("KeyType"))
                for element in schema
                if isinstance(element, dict)
            ]
            pairs = [(n, k) for n, k in pairs if isinstance(n, str) and isinstance(k, str)]
            if pairs:
                return pairs
    return None


def attribute_types(description: Any, params: Any = None) -> dict[str, str]:
    """{attribute name: "S" | "N" | "B"} from the table's state, else from CreateTable's params."""
    types = description.get("attribute_definitions") if isinstance(description, dict) else None
    if isinstance(types, dict) and types:
        return {n: t for n, t in types.items() if isinstance(n, str) and isinstance(t, str)}
    definitions = params.get("AttributeDefinitions") if isinstance(params, dict) else None
    if isinstance(definitions, list):
        return {
            d["AttributeName"]: d["AttributeType"]
            for d in definitions
            if isinstance(d, dict)
            and isinstance(d.get("AttributeName"), str)
            and isinstance(d.get("AttributeType"), str)
        }
    return {}


def billing_mode(description: Any, params: Any = None) -> str:
    """The billing mode; a CreateTable that sends none makes a provisioned table."""
    for source, name in ((description, "billing_mode"), (params, "BillingMode")):
        mode = source.get(name) if isinstance(source, dict) else None
        if isinstance(mode, str) and mode:
            return mode
    return "PROVISIONED"


def partition_key(description: Any) -> str | None:
    schema = key_schema(description) or []
    return next((name for name, kind in schema if kind == "HASH"), None)


def _key_names(description: Any) -> tuple[str, ...]:
    """The attributes that identify an item: the key schema's, HASH first; ("sku",) if unknown."""
    schema = key_schema(description) or []
    names = tuple(n for n, k in schema if k == "HASH") + tuple(n for n, k in schema if k != "HASH")
    return names or ("sku",)


def _key_of(attributes: Any, names: tuple[str, ...]) -> tuple | None:
    """An item's (or a Key parameter's) key values, comparable between the two."""
    if not isinstance(attributes, dict):
        return None
    key = tuple(typed_value(attributes.get(name)) for name in names)
    return None if None in key else key


# --- the replay ------------------------------------------------------------------------


def table_of(call: Call) -> str | None:
    """The one table a call names (for BatchWriteItem, the table of RequestItems when there is one)."""
    resources = call.resources if isinstance(call.resources, dict) else {}
    name = resources.get("TableName")
    if isinstance(name, str) and name:
        return name
    params = call.params if isinstance(call.params, dict) else {}
    name = params.get("TableName")
    return name if isinstance(name, str) and name else None


def tables_named(call: Call) -> set[str]:
    """Every table a call names, BatchWriteItem's request_counts included."""
    names = set()
    if name := table_of(call):
        names.add(name)
    counts = params_of(call).get("request_counts")
    if isinstance(counts, dict):
        names.update(n for n in counts if isinstance(n, str))
    return names


def params_of(call: Call) -> dict:
    return call.params if isinstance(call.params, dict) else {}


def limit_of(call: Call) -> int | None:
    limit = params_of(call).get("Limit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def has_condition(call: Call) -> bool:
    condition = params_of(call).get("ConditionExpression")
    return isinstance(condition, str) and bool(condition.strip())


class _Table:
    """One table during the replay: its description and items, with a key index and the qty sum."""

    __slots__ = ("description", "items", "by_key", "key_names", "qty_total")

    def __init__(self, description: Any) -> None:
        self.description = description if isinstance(description, dict) else {}
        self.items: dict[str, dict] = {}
        self.by_key: dict[tuple, str] = {}
        self.key_names = _key_names(self.description)
        self.qty_total = Decimal(0)

    def put(self, entry: str, item: Any) -> None:
        self.remove(entry)
        if item is None:
            return
        item = item if isinstance(item, dict) else {}
        self.items[entry] = item
        if (key := _key_of(item, self.key_names)) is not None:
            self.by_key[key] = entry
        if (qty := number(item.get("qty"))) is not None:
            self.qty_total = _EXACT.add(self.qty_total, qty)

    def remove(self, entry: str) -> None:
        old = self.items.pop(entry, None)
        if old is None:
            return
        key = _key_of(old, self.key_names)
        if key is not None and self.by_key.get(key) == entry:
            del self.by_key[key]
        if (qty := number(old.get("qty"))) is not None:
            self.qty_total = _EXACT.subtract(self.qty_total, qty)

    @property
    def cut(self) -> int:
        """Items the record left out of a table past its entry cap (the description says how many)."""
        cut = self.description.get("entries_cut")
        return cut if isinstance(cut, int) and not isinstance(cut, bool) and cut > 0 else 0

    @property
    def count(self) -> int:
        return len(self.items) + self.cut

    def keyed(self, key_param: Any) -> dict | None:
        """The item a Key parameter names, if the table holds it."""
        key = _key_of(key_param, self.key_names)
        entry = self.by_key.get(key) if key is not None else None
        return self.items.get(entry) if entry is not None else None


@dataclass
class Creation:
    """A table coming into existence, and what happened between then and its first write."""

    table: str
    index: int  # in Replay.calls
    call: Call
    description: dict
    first_write: Call | None = None
    described: bool = False  # a successful DescribeTable came before the first write
    describe_error: str | None = None  # how a DescribeTable in that window failed


class Read(NamedTuple):
    """A successful Scan or Query, and what its table held at that moment."""

    index: int
    call: Call
    table: str
    limit: int | None
    continued: bool  # it sent ExclusiveStartKey
    count: int
    qty_total: Decimal | None  # None: the record holds only some of the table's items


class Update(NamedTuple):
    """An UpdateItem, and the qty of the item it named just before and just after it."""

    index: int
    call: Call
    table: str | None
    conditional: bool
    sku: str | None
    found: bool  # the table held the item the Key named
    qty_before: Decimal | None
    qty_after: Decimal | None

    @property
    def decremented(self) -> bool:
        return (
            self.call.ok
            and self.qty_before is not None
            and self.qty_after is not None
            and self.qty_after < self.qty_before
        )


class Snapshot(NamedTuple):
    description: dict
    items: dict[str, dict]

    @property
    def count(self) -> int:
        """How many items the table held: those recorded and those left out past the entry cap."""
        return _Table(self.description).cut + len(self.items)


@dataclass
class Replay:
    calls: list[Call] = field(default_factory=list, repr=False)  # the DynamoDB calls, in order
    created: list[str] = field(default_factory=list)  # tables, in order of first creation
    creations: list[Creation] = field(default_factory=list)
    peak: dict[str, int] = field(default_factory=dict)  # most items a table held at once
    peak_at: dict[str, int] = field(default_factory=dict)  # index of the call after which it first did
    reads: list[Read] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    last_delete: dict[str, Call] = field(default_factory=dict)  # the last DeleteTable on a table, answered or not
    deleted_at: dict[str, int] = field(default_factory=dict)  # index of the last successful DeleteTable
    gone_confirmed: set[str] = field(default_factory=set)  # a DescribeTable answered NOT_FOUND after it
    found_after_delete: set[str] = field(default_factory=set)  # a DescribeTable after it still found the table
    end: dict[str, _Table] = field(default_factory=dict, repr=False)  # the state after the last call
    _at_peak: dict[str, Snapshot] = field(default_factory=dict, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # answers a check computes once per record

    @property
    def target(self) -> str | None:
        """Among the tables created during the run, the one that held the most items at once; ties: first created."""
        return max(self.created, key=lambda table: self.peak.get(table, 0), default=None)

    def held_at_peak(self, table: str) -> Snapshot:
        """The table's description and items the first time it held its most items."""
        if table not in self._at_peak:
            self._at_peak[table] = _replay_one(self.calls[: self.peak_at.get(table, -1) + 1], table)
        return self._at_peak[table]

    def reads_of(self, table: str) -> list[Read]:
        return [read for read in self.reads if read.table == table]

    def failed(self, operations: Iterable[str], table: str | None = None, limit: int = 3) -> str:
        """'CreateTable x failed with E.' for the first few failed calls of those operations."""
        wanted = set(operations)
        sentences = []
        for call in self.calls:
            if call.operation in wanted and not call.ok and (table is None or table_of(call) == table):
                name = table_of(call) or "a table"
                sentences.append(f"{call.operation} on {name} failed with {call.error_code or call.status}.")
                if len(sentences) == limit:
                    break
        return " ".join(sentences)


def _replay_one(calls: list[Call], table: str) -> Snapshot:
    """What one table held after the calls: its description and items."""
    state: _Table | None = None
    items: dict[str, dict] = {}
    for call in calls:
        for change in _changes(call):
            if change.resource != table:
                continue
            if change.entry is None:
                if change.value is None:
                    state, items = None, {}
                else:
                    state = _Table(change.value)
            elif change.value is None:
                items.pop(change.entry, None)
            else:
                state = state or _Table({})
                items[change.entry] = change.value if isinstance(change.value, dict) else {}
    return Snapshot(state.description if state else {}, items)


def _changes(call: Call) -> list[ServiceChange]:
    """The call's service changes that name a table, and an item by a string (or the table itself)."""
    changes = call.service_changes if isinstance(call.service_changes, list) else []
    return [
        change
        for change in changes
        if isinstance(change, ServiceChange)
        and isinstance(change.resource, str)
        and (change.entry is None or isinstance(change.entry, str))
    ]


def _build(calls: list[Call]) -> Replay:
    line = Replay(calls=calls)
    tables = line.end
    waiting: dict[str, Creation] = {}  # tables created and not yet written to
    for index, call in enumerate(calls):
        named = tables_named(call)
        _note_waits(line, waiting, call, named)
        update = _before_update(call, tables) if call.operation == "UpdateItem" else None
        changed = _apply(line, tables, waiting, index, call)
        if update is not None:
            line.updates.append(_after_update(index, call, tables, update, changed))
        for table in changed:
            if table in line.peak and table in tables and tables[table].count > line.peak[table]:
                line.peak[table] = tables[table].count
                line.peak_at[table] = index
        if call.operation in READ_OPERATIONS and call.ok:
            name = table_of(call)
            if name in tables:
                state = tables[name]
                line.reads.append(
                    Read(
                        index,
                        call,
                        name,
                        limit_of(call),
                        "ExclusiveStartKey" in params_of(call),
                        state.count,
                        None if state.cut else state.qty_total,
                    )
                )
        if call.operation in ("DeleteTable", "DescribeTable"):
            _note_delete(line, index, call)
    return line


def _note_waits(line: Replay, waiting: dict[str, Creation], call: Call, named: set[str]) -> None:
    """DescribeTable calls between a table's creation and its first write, and that first write."""
    written = {change.resource for change in _changes(call) if change.entry is not None}
    if call.operation in WRITE_OPERATIONS:
        written |= named
    for table in named | written:
        creation = waiting.get(table)
        if creation is None:
            continue
        if table in written:
            creation.first_write = call
            del waiting[table]
        elif call.operation == "DescribeTable":
            if call.ok:
                creation.described = True
            elif creation.describe_error is None:
                creation.describe_error = call.error_code or str(call.status)


def _apply(line: Replay, tables: dict[str, _Table], waiting: dict[str, Creation], index: int, call: Call) -> set[str]:
    """Apply the call's changes; returns the tables it changed."""
    changed = set()
    for change in _changes(call):
        table = change.resource
        changed.add(table)
        if change.entry is None:
            if change.value is None:
                tables.pop(table, None)
            elif table in tables:
                tables[table].description = change.value if isinstance(change.value, dict) else {}
            else:
                _create(line, tables, waiting, index, call, table, change.value)
        elif change.value is None:
            if table in tables:
                tables[table].remove(change.entry)
        else:
            tables.setdefault(table, _Table({})).put(change.entry, change.value)
    name = table_of(call)
    if call.operation == "CreateTable" and call.ok and name and name not in tables and name not in changed:
        # A record without the table's state: its request stands in for it.
        _create(line, tables, waiting, index, call, name, _description_from(params_of(call)))
        changed.add(name)
    return changed


def _create(line, tables, waiting, index, call, table, description) -> None:
    tables[table] = _Table(description)
    creation = Creation(table, index, call, tables[table].description)
    line.creations.append(creation)
    waiting[table] = creation
    if table not in line.peak:
        line.created.append(table)
        line.peak[table] = 0
        line.peak_at[table] = index


def _description_from(params: dict) -> dict:
    schema = key_schema(None, params)
    return {
        "key_schema": [{"AttributeName": n, "KeyType": k} for n, k in schema or []],
        "attribute_definitions": attribute_types(None, params),
        "billing_mode": billing_mode(None, params),
    }


def _before_update(call: Call, tables: dict[str, _Table]) -> tuple[str | None, dict | None]:
    """The table an UpdateItem names and the item its Key names, before the call."""
    name = table_of(call)
    state = tables.get(name) if name else None
    return name, state.keyed(params_of(call).get("Key")) if state else None


def _after_update(index, call, tables, before: tuple[str | None, dict | None], changed: set[str]) -> Update:
    name, old = before
    state = tables.get(name) if name else None
    new = None
    if state is not None and name in changed:
        new = state.keyed(params_of(call).get("Key"))
        if old is None and new is None:
            # A Key the index cannot read: the item the call changed is the one it named.
            entries = [c.entry for c in _changes(call) if c.resource == name and c.entry is not None]
            new = state.items.get(entries[0]) if len(entries) == 1 else None
    after = new if new is not None else old
    partition = partition_key(state.description) if state else None
    sku = item_sku(after, partition) if after is not None else _sku_of_key(params_of(call).get("Key"), partition)
    return Update(
        index,
        call,
        name,
        has_condition(call),
        sku,
        old is not None,
        number(old.get("qty")) if old is not None else None,
        number(after.get("qty")) if after is not None else None,
    )


def _sku_of_key(key: Any, partition: str | None) -> str | None:
    return item_sku(key, partition) if isinstance(key, dict) else None


def _note_delete(line: Replay, index: int, call: Call) -> None:
    table = table_of(call)
    if table is None:
        return
    if call.operation == "DeleteTable":
        line.last_delete[table] = call
        if call.ok:
            line.deleted_at[table] = index
            line.gone_confirmed.discard(table)
            line.found_after_delete.discard(table)
    elif table in line.deleted_at:
        if call.error_code == NOT_FOUND:
            line.gone_confirmed.add(table)
        elif call.ok:
            line.found_after_delete.add(table)


# Built once per record: every check asks for it, and a record is not changed once
# graded. Keyed by id(record); an entry goes when its record is collected.
_replays: dict[int, tuple[list[Call], int, Replay]] = {}


def replay(record: RunRecord) -> Replay:
    built = _replays.get(id(record))
    if built and built[0] is record.calls and built[1] == len(record.calls):
        return built[2]
    line = _build(dynamodb_calls(record))
    if built is None:
        weakref.finalize(record, _replays.pop, id(record), None)
    _replays[id(record)] = (record.calls, len(record.calls), line)
    return line


def dynamodb_calls(record: RunRecord) -> list[Call]:
    return [
        c
        for c in record.calls
        if c.service == SERVICE and isinstance(c.operation, str) and c.operation not in _IGNORED_OPERATIONS
    ]


# --- what the run was given and what it printed ---------------------------------------


def username(record: RunRecord) -> str:
    lines = record.stdin.splitlines() if isinstance(record.stdin, str) else []
    return lines[0].strip().lower() if lines else ""


def expected_table(record: RunRecord) -> str:
    return f"inventory-{username(record)}"


def csv_skus(record: RunRecord) -> list[str]:
    """The skus of the rows of the inventory.csv the run started with, in file order."""
    files = record.input_files if isinstance(record.input_files, dict) else {}
    text = files.get("inventory.csv")
    skus = _skus_in(text) if isinstance(text, str) else []
    if not skus and PROVIDED_CSV.is_file():
        skus = _skus_in(PROVIDED_CSV.read_text(encoding="utf-8"))
    return skus


def _skus_in(text: str) -> list[str]:
    try:
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        if not reader.fieldnames:
            return []
        column = next((name for name in reader.fieldnames if name and name.strip().lower() == "sku"), None)
        if column is None:
            return []
        skus = (row.get(column) for row in reader)
        return list(dict.fromkeys(s.strip() for s in skus if isinstance(s, str) and s.strip()))
    except csv.Error:
        return []


class Printed:
    """Lines the lab asks for ('items: 25', 'total qty: 243', 'out of stock: A-103'), found once in stdout."""

    _ITEMS = re.compile(r"(?<![\w-])items\s*:\s*(-?\d+(?:\.\d+)?)(?![\d.])", re.IGNORECASE)
    _TOTAL = re.compile(r"(?<![\w-])total\s+qty\s*:\s*(-?\d+(?:\.\d+)?)(?![\d.])", re.IGNORECASE)
    _OUT = re.compile(r"out\s+of\s+stock\s*:[ \t]*['\"]?([^\s'\",;]*)", re.IGNORECASE)

    def __init__(self, stdout: str) -> None:
        self.items = _numbers(self._ITEMS, stdout)
        self.totals = _numbers(self._TOTAL, stdout)
        self.out_of_stock: dict[str, int] = {}  # sku -> where it was last printed
        self.out_of_stock_first: tuple[int, str] | None = None
        for match in self._OUT.finditer(stdout):
            sku = match.group(1).rstrip(".!:)")
            self.out_of_stock[sku] = match.start()
            if self.out_of_stock_first is None:
                self.out_of_stock_first = (match.start(), stdout[match.start() : match.end() + 40].splitlines()[0])

    @staticmethod
    def first_after(found: tuple[list[int], list[Decimal]], position: int | None) -> Decimal | None:
        starts, values = found
        at = bisect_left(starts, position if is_position(position) else 0)
        return values[at] if at < len(values) else None

    def shows_out_of_stock(self, sku: str, position: int | None) -> bool:
        printed = self.out_of_stock.get(sku)
        return printed is not None and (not is_position(position) or printed >= position)


def _numbers(pattern: re.Pattern, text: str) -> tuple[list[int], list[Decimal]]:
    matches = list(pattern.finditer(text))
    return [m.start() for m in matches], [Decimal(m.group(1)) for m in matches]


def is_position(position: Any) -> bool:
    return isinstance(position, int) and not isinstance(position, bool)


_printed: dict[int, tuple[str, Printed]] = {}


def printed(record: RunRecord) -> Printed:
    """Printed(record.stdout), built once per record like replay()."""
    built = _printed.get(id(record))
    if built and built[0] is record.stdout:
        return built[1]
    found = Printed(record.stdout if isinstance(record.stdout, str) else "")
    if built is None:
        weakref.finalize(record, _printed.pop, id(record), None)
    _printed[id(record)] = (record.stdout, found)
    return found


# --- feedback ---------------------------------------------------------------------------


def no_calls_text(record: RunRecord) -> str | None:
    """Feedback for a run that never talked to DynamoDB, or None if it did."""
    if dynamodb_calls(record):
        return None
    problem = run_problem(record)
    return "The script made no DynamoDB call at all." + (f" {problem}" if problem else "")


def dropped_note(record: RunRecord) -> str:
    if not record.calls_dropped:
        return ""
    return (
        f"(Only the first {len(record.calls)} calls were recorded in detail; {record.calls_dropped} more were counted.)"
    )


def names(values: list[str], limit: int = 5) -> str:
    """'A-100, A-101 and 3 more'."""
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
