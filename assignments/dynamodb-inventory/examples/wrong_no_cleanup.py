# Lab 07 - Inventory Manager (client API)
# Mistake: cleanup() is written but never called, so inventory-<name> is left behind.
import csv

import boto3
from botocore.exceptions import ClientError

client = boto3.client("dynamodb")
TABLE = "inventory-" + input("Enter your name: ").strip().lower()
WAIT = {"Delay": 1, "MaxAttempts": 30}


def create_table():
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig=WAIT)


def load():
    with open("inventory.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for i in range(0, len(rows), 25):
        client.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                     "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
            for r in rows[i:i + 25]
        ]})


def report():
    items = total = 0
    for page in client.get_paginator("scan").paginate(TableName=TABLE, PaginationConfig={"PageSize": 5}):
        items += len(page["Items"])
        total += sum(int(i["qty"]["N"]) for i in page["Items"])
    print(f"items: {items}")
    print(f"total qty: {total}")


def sell(sku, n):
    try:
        client.update_item(TableName=TABLE, Key={"sku": {"S": sku}},
                           UpdateExpression="SET qty = qty - :n",
                           ConditionExpression="qty >= :n",
                           ExpressionAttributeValues={":n": {"N": str(n)}})
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise


def cleanup():
    client.delete_table(TableName=TABLE)
    # delete_table is asynchronous (the table is DELETING for a while),
    # so wait until it is gone.
    client.get_waiter("table_not_exists").wait(TableName=TABLE, WaiterConfig=WAIT)


create_table()
load()
report()
sell("E-402", 1)
sell("B-204", 1)
