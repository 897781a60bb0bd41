"""Hand-built Lab 07 run records: say what the script did, get the record the mock would have made.

The format follows the record API's contract for DynamoDB calls: one Call per request
(service "dynamodb", boto3's operation name, resources {"TableName": ...}, the request's
top-level params), with ServiceChanges (resource = table; entry None = the table itself,
else an item id with the item in DynamoDB's wire format) after state-changing calls.
Like moto, a Scan returns LastEvaluatedKey only while more items remain.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

from checks.packaged import load_check
from engine.record import Call, RunRecord, ServiceChange

ROOT = Path(__file__).resolve().parents[4]
ASSIGNMENT = ROOT / "assignments" / "dynamodb-inventory"
CHECKS_DIR = ASSIGNMENT / "checks"
CSV_TEXT = (ASSIGNMENT / "files" / "inventory.csv").read_text(encoding="utf-8")
ROWS = list(csv.DictReader(io.StringIO(CSV_TEXT)))
CHECK_IDS = ("table_ready", "items_loaded", "paginated_report", "conditional_sell", "cleanup_waited")
DOCUMENTED_SOURCE = (
    "# delete_table is asynchronous: the table stays DELETING for a while,\n# so wait until it is gone.\n"
)


def check(check_id: str):
    return load_check(CHECKS_DIR, check_id).check


def item_of(row: dict, key: str = "sku", qty_type: str = "N", price_type: str = "N") -> dict:
    return {
        key: {"S": row["sku"]},
        "name": {"S": row["name"]},
        "qty": {qty_type: row["qty"]},
        "price": {price_type: row["price"]},
    }


class InventoryRun:
    def __init__(self, username: str = "alice") -> None:
        self.calls: list[Call] = []
        self.tables: dict[str, dict] = {}  # name -> {"resource": description, "entries": {id: item}}
        self.stdout = "Enter your name: "
        self.stderr = ""
        self.exit_code: int | None = 0
        self.sources = {"main.py": DOCUMENTED_SOURCE}
        self.stdin = f"{username}\n"
        self.input_files = {"inventory.csv": CSV_TEXT}
        self.calls_dropped = 0
        self.final_override: dict | None = None

    # --- the calls -------------------------------------------------------------------

    def call(
        self,
        operation: str,
        table: str | None,
        status: int = 200,
        error_code: str | None = None,
        params: dict | None = None,
        changes: list[ServiceChange] | None = None,
        resources: dict | None = None,
    ) -> InventoryRun:
        self.calls.append(
            Call(
                seq=len(self.calls) + 1,
                operation=operation,
                method="POST",
                path="/",
                status=status,
                error_code=error_code,
                params=params if params is not None else {},
                service="dynamodb",
                resources=resources if resources is not None else ({"TableName": table} if table else {}),
                service_changes=changes or [],
                # Single-threaded: what it printed so far came before the call, the rest after.
                stdout_before=len(self.stdout),
                stdout_after=len(self.stdout),
            )
        )
        return self

    def create_table(
        self,
        name: str,
        key: str = "sku",
        key_type: str = "S",
        billing: str | None = "PAY_PER_REQUEST",
        sort_key: str | None = None,
        record_state: bool = True,
    ) -> InventoryRun:
        if name in self.tables:
            return self.call("CreateTable", name, 400, "ResourceInUseException")
        schema = [{"AttributeName": key, "KeyType": "HASH"}]
        definitions = {key: key_type}
        if sort_key:
            schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
            definitions[sort_key] = "S"
        params = {
            "KeySchema": schema,
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
        }
        if billing:
            params["BillingMode"] = billing
        description = {
            "key_schema": schema,
            "attribute_definitions": definitions,
            "billing_mode": billing or "PROVISIONED",
            "status": "ACTIVE",
            "item_count": 0,
        }
        self.tables[name] = {"resource": description, "entries": {}}
        changes = [ServiceChange(name, None, copy.deepcopy(description))] if record_state else []
        return self.call("CreateTable", name, params=params, changes=changes)

    def describe(self, name: str) -> InventoryRun:
        if name not in self.tables:
            return self.call("DescribeTable", name, 400, "ResourceNotFoundException")
        return self.call("DescribeTable", name)

    wait_exists = describe
    wait_not_exists = describe

    def _key_name(self, table: str) -> str:
        return self.tables[table]["resource"]["key_schema"][0]["AttributeName"]

    def _entry(self, table: str, item: dict) -> str:
        return str(item.get(self._key_name(table), {}).get("S"))

    def _store(self, table: str, item: dict | None, entry: str) -> ServiceChange:
        entries = self.tables[table]["entries"]
        if item is None:
            entries.pop(entry, None)
        else:
            entries[entry] = item
        return ServiceChange(table, entry, copy.deepcopy(item))

    def batch_write(self, table: str, items: list[dict]) -> InventoryRun:
        counts = {"request_counts": {table: {"PutRequest": len(items)}}}
        if table not in self.tables:
            return self.call("BatchWriteItem", table, 400, "ResourceNotFoundException", params=counts)
        changes = [self._store(table, item, self._entry(table, item)) for item in items]
        return self.call("BatchWriteItem", table, params=counts, changes=changes)

    def load(self, table: str, rows: list[dict] = ROWS, batch: int = 25, **item_options) -> InventoryRun:
        key = self._key_name(table) if table in self.tables else "sku"
        items = [item_of(row, key, **item_options) for row in rows]
        for start in range(0, len(items), batch):
            self.batch_write(table, items[start : start + batch])
        return self

    def put(self, table: str, item: dict) -> InventoryRun:
        change = self._store(table, item, self._entry(table, item))
        return self.call("PutItem", table, params={"Item": item}, changes=[change])

    def delete_item(self, table: str, sku: str) -> InventoryRun:
        change = self._store(table, None, sku)
        return self.call("DeleteItem", table, params={"Key": {self._key_name(table): {"S": sku}}}, changes=[change])

    def scan(self, table: str, limit: int | None = None, continued: bool = False, operation: str = "Scan"):
        params: dict = {}
        if limit is not None:
            params["Limit"] = limit
        if continued:
            params["ExclusiveStartKey"] = {self._key_name(table): {"S": "A-104"}}
        return self.call(operation, table, params=params)

    def paginate(self, table: str, page_size: int | None = 5, operation: str = "Scan") -> InventoryRun:
        """What get_paginator('scan') sends: moto answers LastEvaluatedKey while items remain."""
        count = len(self.tables[table]["entries"])
        pages = 1 if not page_size else max(1, -(-count // page_size))
        for page in range(pages):
            self.scan(table, page_size, continued=page > 0, operation=operation)
        return self

    def print(self, text: str) -> InventoryRun:
        self.stdout += text + "\n"
        return self

    def totals(self, table: str) -> tuple[int, int]:
        entries = self.tables[table]["entries"].values()
        return len(entries), sum(int(next(iter(item["qty"].values()))) for item in entries)

    def report(self, table: str, items: int | None = None, total: int | None = None) -> InventoryRun:
        true_items, true_total = self.totals(table)
        self.print(f"items: {true_items if items is None else items}")
        return self.print(f"total qty: {true_total if total is None else total}")

    def update(self, table: str, sku: str, n: int, conditional: bool = True, printed: str | None = None):
        """sell(): SET qty = qty - :n, with ConditionExpression 'qty >= :n' unless conditional=False."""
        key_name = self._key_name(table)
        params = {
            "Key": {key_name: {"S": sku}},
            "UpdateExpression": "SET qty = qty - :n",
            "ExpressionAttributeValues": {":n": {"N": str(n)}},
        }
        if conditional:
            params["ConditionExpression"] = "qty >= :n"
        item = self.tables[table]["entries"].get(sku)
        qty = int(next(iter(item["qty"].values()))) if item else 0
        if conditional and qty < n:
            self.call("UpdateItem", table, 400, "ConditionalCheckFailedException", params=params)
        else:
            new = dict(item or {key_name: {"S": sku}})
            new["qty"] = {"N": str(qty - n)}
            self.call("UpdateItem", table, params=params, changes=[self._store(table, new, sku)])
        if printed is not None:
            self.print(printed)
        return self

    def sell(self, table: str, sku: str, n: int) -> InventoryRun:
        """The lab's sell(): prints 'out of stock: <sku>' when the condition fails."""
        item = self.tables[table]["entries"].get(sku)
        in_stock = item is not None and int(next(iter(item["qty"].values()))) >= n
        return self.update(table, sku, n, printed=f"sold {n} {sku}" if in_stock else f"out of stock: {sku}")

    def delete_table(self, name: str) -> InventoryRun:
        if name not in self.tables:
            return self.call("DeleteTable", name, 400, "ResourceNotFoundException")
        del self.tables[name]
        return self.call("DeleteTable", name, changes=[ServiceChange(name, None, None)])

    def crash(self, error: str) -> InventoryRun:
        self.exit_code = 1
        self.stderr = f'Traceback (most recent call last):\n  File "main.py", line 40, in <module>\n{error}\n'
        return self

    def record(self) -> RunRecord:
        final = self.final_override if self.final_override is not None else copy.deepcopy(self.tables)
        return RunRecord(
            exit_code=self.exit_code,
            timed_out=False,
            duration_s=1.0,
            stdout=self.stdout,
            stderr=self.stderr,
            calls=list(self.calls),
            calls_dropped=self.calls_dropped,
            final_services={"dynamodb": final},
            sources=dict(self.sources),
            input_files=dict(self.input_files),
            entry_point="main.py",
            stdin=self.stdin,
        )


TABLE = "inventory-alice"


def loaded(run: InventoryRun | None = None, table: str = TABLE, **create_options) -> InventoryRun:
    run = run or InventoryRun()
    return run.create_table(table, **create_options).wait_exists(table).load(table)


def reported(run: InventoryRun | None = None, table: str = TABLE) -> InventoryRun:
    return loaded(run, table).paginate(table).report(table)


def sold(run: InventoryRun | None = None, table: str = TABLE) -> InventoryRun:
    return reported(run, table).sell(table, "A-100", 2).sell(table, "A-103", 1)


def correct_run(table: str = TABLE) -> InventoryRun:
    return sold(None, table).delete_table(table).wait_not_exists(table)
