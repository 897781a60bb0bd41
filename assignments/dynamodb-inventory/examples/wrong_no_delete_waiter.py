# Lab 07 - Inventory Manager (client API)
# Mistake: delete_table is called and the script ends at once: no
# table_not_exists waiter after it.
import csv

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")
table_name = "inventory-" + input("Enter your name: ").strip().lower()

dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
# The table is CREATING at first; wait until it is ACTIVE before writing.
dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
for i in range(0, len(rows), 25):
    dynamodb.batch_write_item(RequestItems={table_name: [
        {"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                 "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
        for r in rows[i:i + 25]
    ]})

items = 0
total = 0
for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
    items += len(page["Items"])
    total += sum(int(item["qty"]["N"]) for item in page["Items"])
print(f"items: {items}")
print(f"total qty: {total}")


def sell(sku, n):
    dynamodb.update_item(TableName=table_name, Key={"sku": {"S": sku}},
                         UpdateExpression="SET qty = qty - :n",
                         ConditionExpression="qty >= :n",
                         ExpressionAttributeValues={":n": {"N": str(n)}})


for sku in ["C-108", "A-103"]:
    try:
        sell(sku, 1)
        print("sold 1", sku)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

dynamodb.delete_table(TableName=table_name)
print("Deleted", table_name)
