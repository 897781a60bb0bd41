# Lab 07 - Inventory Manager
# Mistake: no table_exists waiter after create_table, the script writes at once.
import csv

import boto3
from botocore.exceptions import ClientError

client = boto3.client("dynamodb")
table_name = "inventory-" + input("Enter your name: ").lower()

client.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
print("Created", table_name)

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
puts = [
    {"PutRequest": {"Item": {
        "sku": {"S": r["sku"]},
        "name": {"S": r["name"]},
        "qty": {"N": r["qty"]},
        "price": {"N": r["price"]},
    }}}
    for r in rows
]
for i in range(0, len(puts), 25):
    client.batch_write_item(RequestItems={table_name: puts[i:i + 25]})

count = 0
total = 0
for page in client.get_paginator("scan").paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
    count += len(page["Items"])
    total += sum(int(item["qty"]["N"]) for item in page["Items"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    client.update_item(
        TableName=table_name,
        Key={"sku": {"S": sku}},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression="qty >= :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )


for sku, n in [("A-102", 3), ("D-303", 1)]:
    try:
        sell(sku, n)
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

client.delete_table(TableName=table_name)
# delete_table only starts the deletion (the table is DELETING for a while),
# so wait until DescribeTable says the table no longer exists.
client.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
print("Deleted", table_name)
