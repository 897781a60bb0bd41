"""Lab 07 - Inventory Manager.

Mostly the client API, but the load goes through the resource's
batch_writer(), which chunks the puts into BatchWriteItem calls of 25 and
retries unprocessed items, so there is no chunking code to get wrong.
"""
import csv
from decimal import Decimal

import boto3
from botocore.exceptions import ClientError

client = boto3.client("dynamodb")
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}


def create_table(table_name):
    client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # A new table is CREATING for a while; wait for ACTIVE before writing.
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=WAITER_CONFIG)


def load(table_name):
    table = boto3.resource("dynamodb").Table(table_name)
    with open("inventory.csv", newline="") as f, table.batch_writer() as batch:
        for row in csv.DictReader(f):
            batch.put_item(Item={
                "sku": row["sku"],
                "name": row["name"],
                "qty": int(row["qty"]),
                "price": Decimal(row["price"]),
            })


def report(table_name):
    count = 0
    total_qty = 0
    pages = client.get_paginator("scan").paginate(
        TableName=table_name,
        ProjectionExpression="qty",  # the report needs only the quantities
        PaginationConfig={"PageSize": 8},
    )
    for page in pages:
        count += page["Count"]
        total_qty += sum(int(item["qty"]["N"]) for item in page["Items"])
    print(f"items: {count}")
    print(f"total qty: {total_qty}")


def sell(table_name, sku, n):
    client.update_item(
        TableName=table_name,
        Key={"sku": {"S": sku}},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression="attribute_exists(sku) AND qty >= :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )


def cleanup(table_name):
    client.delete_table(TableName=table_name)
    # DeleteTable is asynchronous: the table is DELETING for a while after the
    # call returns. Wait until DescribeTable no longer finds it.
    client.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig=WAITER_CONFIG)


def main():
    table_name = "inventory-" + input("Enter your name: ").strip().lower()
    create_table(table_name)
    load(table_name)
    report(table_name)
    for sku, n in [("C-106", 1), ("D-303", 1)]:
        try:
            sell(table_name, sku, n)
            print(f"sold {n} {sku}")
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            print(f"out of stock: {sku}")
    cleanup(table_name)


main()
