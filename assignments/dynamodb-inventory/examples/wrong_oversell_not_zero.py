# Lab 07 - Inventory Manager (client API)
# Mistake: the failing sale asks for 10 units of B-201 (4 in stock) instead of
# selling an item whose qty is 0 (A-103, B-204 or D-303).
import csv

import boto3
from botocore.exceptions import ClientError

ddb = boto3.client("dynamodb")
table = "inventory-" + input("Enter your name: ").strip().lower()
wait_config = {"Delay": 1, "MaxAttempts": 30}

ddb.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig=wait_config)

with open("inventory.csv", newline="") as f:
    items = [{"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
              "qty": {"N": r["qty"]}, "price": {"N": r["price"]}} for r in csv.DictReader(f)]
for start in range(0, len(items), 25):
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": it}} for it in items[start:start + 25]]})

count = 0
total = 0
for page in ddb.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 7}):
    for it in page["Items"]:
        count += 1
        total += int(it["qty"]["N"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    try:
        ddb.update_item(TableName=table, Key={"sku": {"S": sku}},
                        UpdateExpression="SET qty = qty - :n",
                        ConditionExpression="qty >= :n",
                        ExpressionAttributeValues={":n": {"N": str(n)}})
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise


sell("B-201", 1)
sell("B-201", 10)

ddb.delete_table(TableName=table)
# The deletion runs in the background (status DELETING): wait until it is done.
ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=wait_config)
