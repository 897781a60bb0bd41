# Lab 07 - Inventory Manager
# Mistake: copy-paste bug in the report, the total adds page["Count"] (items per
# page) instead of the qty of each item, so it prints "total qty: 25".
import csv

import boto3
from botocore.exceptions import ClientError

client = boto3.client("dynamodb")
TABLE = "inventory-" + input("Enter your name: ").strip().lower()
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}


def setup():
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig=WAITER_CONFIG)
    with open("inventory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for i in range(0, len(rows), 20):
        client.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                     "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
            for r in rows[i:i + 20]
        ]})


def report():
    items = 0
    total_qty = 0
    for page in client.get_paginator("scan").paginate(TableName=TABLE, PaginationConfig={"PageSize": 5}):
        items += page["Count"]
        total_qty += page["Count"]
    print(f"items: {items}")
    print(f"total qty: {total_qty}")


def sell(sku, n):
    client.update_item(TableName=TABLE, Key={"sku": {"S": sku}},
                       UpdateExpression="SET qty = qty - :n",
                       ConditionExpression="qty >= :n",
                       ExpressionAttributeValues={":n": {"N": str(n)}})


def cleanup():
    client.delete_table(TableName=TABLE)
    # The table stays in DELETING state for a while: wait until it no longer exists.
    client.get_waiter("table_not_exists").wait(TableName=TABLE, WaiterConfig=WAITER_CONFIG)


setup()
report()
for sku, n in [("B-200", 2), ("B-204", 1)]:
    try:
        sell(sku, n)
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise
cleanup()
