"""Records the checks must survive: no DynamoDB call, odd parameters, and a hostile size."""

import time

import pytest

from checks.base import Verdict
from checks.packaged import import_checks_package
from engine.record import Call, ServiceChange
from tests.unit.checks.dynamodb.records import (
    CHECK_IDS,
    CHECKS_DIR,
    ROWS,
    TABLE,
    InventoryRun,
    check,
    correct_run,
    item_of,
)

CHECKS = {check_id: check(check_id) for check_id in CHECK_IDS}


def inventory_helper():
    import importlib

    return importlib.import_module(f"{import_checks_package(CHECKS_DIR)}._inventory")


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_a_script_without_dynamodb_calls_fails_every_check_and_shows_its_error(check_id):
    run = InventoryRun().crash("ModuleNotFoundError: No module named 'pandas'")
    verdict = CHECKS[check_id](run.record())
    assert not verdict.passed
    assert verdict.feedback == (
        "The script made no DynamoDB call at all. The script exited with status 1:"
        " ModuleNotFoundError: No module named 'pandas'"
    )


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_calls_to_other_services_are_no_dynamodb_calls(check_id):
    record = InventoryRun().record()
    record.calls = [Call(seq=1, operation="CreateBucket", method="PUT", path="/b", status=200, bucket="b")]
    assert CHECKS[check_id](record).feedback == "The script made no DynamoDB call at all."


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_the_reference_run_passes_every_check(check_id):
    verdict = CHECKS[check_id](correct_run().record())
    assert verdict.passed, verdict.feedback


ODD_VALUES = ["{'sku': {'S': 'A-1[cut: 40 more chars]", 7, None, True, ["x"], {"S": 3}, {"weird": {}}, ""]


def odd_run(value) -> InventoryRun:
    """Every parameter the checks read set to a value of the wrong type."""
    run = InventoryRun()
    run.call(
        "CreateTable",
        TABLE,
        params={"KeySchema": value, "AttributeDefinitions": value, "BillingMode": value},
        changes=[
            ServiceChange(TABLE, None, {"key_schema": value, "attribute_definitions": value, "billing_mode": value})
        ],
    )
    run.call("DescribeTable", TABLE, params={"TableName": value})
    run.call(
        "BatchWriteItem",
        None,
        params={"request_counts": value},
        resources={"TableName": value} if value is not None else {},
        changes=[ServiceChange(TABLE, f"e{i}", value if i % 2 else item_of(row)) for i, row in enumerate(ROWS)],
    )
    run.call("BatchWriteItem", TABLE, changes=[ServiceChange(TABLE, "odd", {"sku": value, "qty": value})])
    for extra in ({"Limit": value}, {"Limit": 5, "ExclusiveStartKey": value}, {"Limit": value, "ExclusiveStartKey": 1}):
        run.call("Scan", TABLE, params=extra)
    run.print("items: 13").print("total qty: x")
    for status, code in ((200, None), (400, "ConditionalCheckFailedException")):
        run.call(
            "UpdateItem",
            TABLE,
            status,
            code,
            params={"Key": value, "ConditionExpression": value, "ExpressionAttributeValues": value},
            changes=[ServiceChange(TABLE, "e0", {"sku": {"S": "A-100"}, "qty": value})] if status == 200 else [],
        )
    run.call("PutItem", TABLE, changes=[ServiceChange(["not", "a", "name"], {"not": "an id"}, value)])
    run.call("DeleteTable", TABLE, changes=[ServiceChange(TABLE, None, value if isinstance(value, dict) else None)])
    run.call("DescribeTable", TABLE, 400, "ResourceNotFoundException")
    run.final_override = {TABLE: value}
    return run


@pytest.mark.parametrize("value", ODD_VALUES, ids=[type(v).__name__ + str(i) for i, v in enumerate(ODD_VALUES)])
def test_odd_parameters_never_crash_a_check(value):
    record = odd_run(value).record()
    record.calls[0].resources = value  # not even a dict
    for check_id, check_function in CHECKS.items():
        verdict = check_function(record)
        assert isinstance(verdict, Verdict), check_id


def test_an_odd_input_file_and_stdin_never_crash_a_check():
    run = correct_run()
    run.input_files = {"inventory.csv": '\x00\x00,\n"unterminated'}
    record = run.record()
    record.stdin = ""
    record.final_services = {"dynamodb": "not a dict"}
    for check_function in CHECKS.values():
        assert isinstance(check_function(record), Verdict)


def test_huge_or_strange_numbers_keep_the_true_sum_exact():
    inventory = inventory_helper()
    run = InventoryRun().create_table(TABLE)
    for index, qty in enumerate(["1E+999", "1", "-1E+999", "1e-999", "NaN", "Infinity", "9" * 61, "0.5"]):
        run.put(TABLE, {"sku": {"S": f"X-{index}"}, "qty": {"N": qty}})
    run.delete_item(TABLE, "X-3")
    line = inventory.replay(run.record())
    assert line.end[TABLE].qty_total == inventory.Decimal("1.5")


def test_the_replay_is_built_once_per_record():
    inventory = inventory_helper()
    record = correct_run().record()
    assert inventory.replay(record) is inventory.replay(record)
    record.calls.append(record.calls[-1])
    assert inventory.replay(record) is not None


def hostile_run(calls: int = 6_000, items: int = 2_000) -> InventoryRun:
    """A run built to be slow: thousands of items, then every kind of call over and over."""
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE)
    rows = [{"sku": f"S-{i:05d}", "name": "x", "qty": "0" if i % 3 else "2", "price": "1.5"} for i in range(items)]
    run.load(TABLE, rows=rows)
    for index in range(calls):
        kind = index % 6
        if kind == 0:
            run.scan(TABLE, limit=10, continued=index % 12 == 0)
        elif kind == 1:
            run.update(TABLE, rows[index % items]["sku"], 1)
        elif kind == 2:
            run.print(f"items: {index} total qty: {index} out of stock: S-{index:05d}")
        elif kind == 3:
            run.describe(TABLE)
        elif kind == 4:
            run.create_table(f"scratch-{index}")
        else:
            run.put(f"scratch-{index - 1}", item_of(ROWS[0]))
    run.sources = {"main.py": "# wait until until until\n" * 5_000}
    return run


def test_a_hostile_record_is_graded_quickly():
    record = hostile_run().record()
    started = time.perf_counter()
    verdicts = {check_id: check_function(record) for check_id, check_function in CHECKS.items()}
    elapsed = time.perf_counter() - started
    print(f"\n{len(record.calls):,} calls, 2,000 items: five checks in {elapsed:.2f} s")
    for check_id, verdict in verdicts.items():
        print(f"  {check_id}: {verdict.feedback[:300]}")
    assert all(isinstance(v, Verdict) for v in verdicts.values())
    assert len(record.calls) > 5_000
    assert "and 2495 more" not in verdicts["cleanup_waited"].feedback
    assert "more tables created during the run still exist" in verdicts["cleanup_waited"].feedback


def test_a_table_past_the_record_entry_cap_counts_the_items_left_out_and_skips_the_total():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE)
    described = dict(run.tables[TABLE]["resource"], entries_cut=1975)
    run.call("BatchWriteItem", TABLE, changes=[ServiceChange(TABLE, None, described)])
    run.paginate(TABLE, 10).scan(TABLE, 10, continued=True)
    for _ in range(198):
        run.scan(TABLE, 10, continued=True)
    run.print("items: 2000").print("total qty: 1")
    verdicts = {check_id: CHECKS[check_id](run.record()) for check_id in ("items_loaded", "paginated_report")}
    assert "held 2000 items at its fullest" in verdicts["items_loaded"].feedback
    assert verdicts["paginated_report"].passed, verdicts["paginated_report"].feedback
