"""Lab 07: Inventory Manager.

Mistake: the table uses provisioned capacity (5 read / 5 write units)
instead of on-demand billing (PAY_PER_REQUEST).
"""
import csv

import boto3
from botocore.exceptions import ClientError

ddb = boto3.client("dynamodb")
WAIT = {"Delay": 1, "MaxAttempts": 30}


def create(table):
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig=WAIT)


def load(table):
    with open("inventory.csv", newline="") as f:
        reader = csv.DictReader(f)
        chunk = []
        for row in reader:
            chunk.append({"PutRequest": {"Item": {
                "sku": {"S": row["sku"]}, "name": {"S": row["name"]},
                "qty": {"N": row["qty"]}, "price": {"N": row["price"]},
            }}})
            if len(chunk) == 10:
                ddb.batch_write_item(RequestItems={table: chunk})
                chunk = []
        if chunk:
            ddb.batch_write_item(RequestItems={table: chunk})


def report(table):
    n = qty = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 4}):
        n += page["Count"]
        qty += sum(int(i["qty"]["N"]) for i in page["Items"])
    print(f"items: {n}")
    print(f"total qty: {qty}")


def sell(table, sku, n):
    try:
        ddb.update_item(
            TableName=table, Key={"sku": {"S": sku}},
            UpdateExpression="SET qty = qty - :n", ConditionExpression="qty >= :n",
            ExpressionAttributeValues={":n": {"N": str(n)}},
        )
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        print(f"out of stock: {sku}")


def cleanup(table):
    ddb.delete_table(TableName=table)
    # Deleting is asynchronous: wait until the table is really gone.
    ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=WAIT)


table = "inventory-" + input("Enter your name: ").strip().lower()
create(table)
load(table)
report(table)
sell(table, "E-401", 2)
sell(table, "B-204", 1)
cleanup(table)
