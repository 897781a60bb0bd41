"""A lab of another service than S3: real scripts in the real sandbox against a mock serving only DynamoDB.

What the record says of each call (its service, operation, resources, parameters and
error code) and of the state after it is what the DynamoDB checks grade.
"""

import json
import textwrap

import pytest

from engine.files import SubmittedFile
from engine.limits import Limits
from engine.record import service_state_after
from engine.runner import run_submission


@pytest.fixture
def run_with(run_script):
    """Like run_script, with the services the mock serves chosen per run (as in test_mock_containment)."""

    def run(source: str, services=("dynamodb",), **limits):
        files = [SubmittedFile("main.py", textwrap.dedent(source).encode())]
        return run_submission(
            files=files,
            entry_point="main.py",
            stdin="student\n",
            limits=Limits(**{"wall_s": 20, **limits}),
            services=services,
        )

    return run


INVENTORY_LAB = """
    import boto3
    from botocore.exceptions import ClientError

    dynamodb = boto3.client("dynamodb")
    fast = {"Delay": 1, "MaxAttempts": 20}
    dynamodb.create_table(
        TableName="inventory-alice",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName="inventory-alice", WaiterConfig=fast)
    rows = [("A-100", 12), ("A-101", 3), ("A-102", 0), ("A-103", 7), ("A-104", 1)]
    dynamodb.batch_write_item(RequestItems={"inventory-alice": [
        {"PutRequest": {"Item": {"sku": {"S": sku}, "qty": {"N": str(qty)}}}} for sku, qty in rows
    ]})
    pages = dynamodb.get_paginator("scan").paginate(TableName="inventory-alice", PaginationConfig={"PageSize": 2})
    print("items:", sum(len(page["Items"]) for page in pages))
    try:
        dynamodb.update_item(
            TableName="inventory-alice",
            Key={"sku": {"S": "A-102"}},
            UpdateExpression="SET qty = qty - :one",
            ConditionExpression="qty >= :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    except ClientError as error:
        print("out of stock:", error.response["Error"]["Code"])
    dynamodb.delete_table(TableName="inventory-alice")
    dynamodb.get_waiter("table_not_exists").wait(TableName="inventory-alice", WaiterConfig=fast)
    print("done")
"""


def test_a_dynamodb_lab_is_recorded_call_by_call_with_the_state_after_each(run_with):
    record = run_with(INVENTORY_LAB)
    assert "done" in record.stdout, record.stderr
    operations = [c.operation for c in record.calls]
    assert operations == [
        "CreateTable",
        "DescribeTable",  # the table_exists waiter
        "BatchWriteItem",
        "Scan",
        "Scan",
        "Scan",  # PageSize 2 over 5 items
        "UpdateItem",
        "DeleteTable",
        "DescribeTable",  # the table_not_exists waiter, answered ResourceNotFoundException
    ]
    assert {c.service for c in record.calls} == {"dynamodb"}
    assert all(c.resources == {"TableName": "inventory-alice"} for c in record.calls)

    scans = [c for c in record.calls if c.operation == "Scan"]
    assert [c.params["Limit"] for c in scans] == [2, 2, 2]
    assert ["ExclusiveStartKey" in c.params for c in scans] == [False, True, True]

    update = next(c for c in record.calls if c.operation == "UpdateItem")
    assert (update.status, update.error_code) == (400, "ConditionalCheckFailedException")
    assert update.params["ConditionExpression"] == "qty >= :one"
    assert "out of stock: ConditionalCheckFailedException" in record.stdout
    assert record.calls[-1].error_code == "ResourceNotFoundException"

    batch = record.calls.index(next(c for c in record.calls if c.operation == "BatchWriteItem"))
    table = service_state_after(record.calls[: batch + 1], "dynamodb")["inventory-alice"]
    assert table["resource"]["item_count"] == 5 and table["resource"]["billing_mode"] == "PAY_PER_REQUEST"
    assert table["entries"][json.dumps({"sku": {"S": "A-100"}})]["qty"] == {"N": "12"}
    assert record.final_services == {"dynamodb": {}}


def test_an_s3_call_in_a_dynamodb_lab_is_refused_before_moto_runs_it(run_with):
    record = run_with("""
        import boto3
        boto3.client("dynamodb").list_tables()
        try:
            boto3.client("s3").create_bucket(Bucket="not-in-this-lab")
            print("ACCEPTED")
        except Exception as error:
            print("refused:", error)
    """)
    assert "ACCEPTED" not in record.stdout and "ServiceNotServed" in record.stdout, record.stderr
    assert [(c.operation, c.params.get("service")) for c in record.calls] == [
        ("ListTables", None),
        ("RefusedService", "s3"),
    ]
    assert record.final_state == {}
