# Lab 07 - Inventory Manager
# Mistake: the failed sale is not caught. The ConditionalCheckFailedException
# crashes the script, so the cleanup after it never runs either.
import csv

import boto3

dynamodb = boto3.client("dynamodb")
table_name = "inventory-" + input("Enter your name: ").strip().lower()
WAIT = {"Delay": 1, "MaxAttempts": 30}

dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=WAIT)

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
for i in range(0, len(rows), 25):
    dynamodb.batch_write_item(RequestItems={table_name: [
        {"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                 "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
        for r in rows[i:i + 25]
    ]})

items, qty = 0, 0
for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
    items += len(page["Items"])
    qty += sum(int(it["qty"]["N"]) for it in page["Items"])
print(f"items: {items}")
print(f"total qty: {qty}")


def sell(sku, n):
    dynamodb.update_item(
        TableName=table_name,
        Key={"sku": {"S": sku}},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression="qty >= :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )
    print(f"sold {n} {sku}")


sell("A-104", 5)
sell("A-103", 1)

dynamodb.delete_table(TableName=table_name)
# Deletion is asynchronous (DELETING), so wait until the table is gone.
dynamodb.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig=WAIT)
