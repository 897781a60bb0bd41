# Lab 07 - DynamoDB Inventory Manager, written with the boto3 resource API.
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")

# Poll every second instead of the default 20 seconds.
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}

table_name = "inventory-" + input("Enter your name: ").strip().lower()

table = dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
# The new table starts in the CREATING state; wait until it is ACTIVE
# before writing anything to it.
table.wait_until_exists(WaiterConfig=WAITER_CONFIG)
print(f"Created table {table_name}")

# Load every row. batch_writer() groups the puts into BatchWriteItem calls
# of up to 25 items and resends any unprocessed ones for us.
# Numbers must be Decimal: the resource API refuses Python floats.
with open("inventory.csv", newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
with table.batch_writer() as batch:
    for row in rows:
        batch.put_item(Item={
            "sku": row["sku"],
            "name": row["name"],
            "qty": int(row["qty"]),
            "price": Decimal(row["price"]),
        })
print(f"Loaded {len(rows)} items")


def report():
    """Read the whole table page by page (5 items per Scan call) and print totals."""
    # The resource has no paginator of its own, but its client does, and that
    # client turns the items into plain Python values (numbers as Decimal).
    paginator = table.meta.client.get_paginator("scan")
    count = 0
    total_qty = 0
    for page in paginator.paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
        for item in page["Items"]:
            count += 1
            total_qty += item["qty"]
    print(f"items: {count}")
    print(f"total qty: {total_qty}")


def sell(sku, n):
    # The condition is checked by DynamoDB in the same request as the update,
    # so stock can never go below zero.
    table.update_item(
        Key={"sku": sku},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression=Attr("qty").gte(n),
        ExpressionAttributeValues={":n": n},
    )
    print(f"sold {n} of {sku}")


def sell_or_report(sku, n):
    try:
        sell(sku, n)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise


def cleanup():
    table.delete()
    # Deleting a table is asynchronous: delete() returns while the table is
    # still DELETING. wait_until_not_exists() keeps calling DescribeTable until
    # the table is gone, so nothing after this point can still see it.
    table.wait_until_not_exists(WaiterConfig=WAITER_CONFIG)
    print(f"Deleted table {table_name}")


report()
sell_or_report("B-200", 1)   # 9 in stock
sell_or_report("B-204", 1)   # 0 in stock: ConditionalCheckFailedException
cleanup()
