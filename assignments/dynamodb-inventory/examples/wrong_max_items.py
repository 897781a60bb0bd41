# Lab 07 - Inventory Manager (client API)
# Mistake: MaxItems instead of PageSize in the PaginationConfig. No Limit is sent,
# one Scan returns everything, and the paginator stops after 10 items: the report
# prints "items: 10" and the qty of those 10 only.
import csv

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")
name = input("Enter your name: ").strip().lower()
table_name = f"inventory-{name}"

dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f:
    puts = [{"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                     "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
            for r in csv.DictReader(f)]
while puts:
    dynamodb.batch_write_item(RequestItems={table_name: puts[:25]})
    puts = puts[25:]

count = 0
total = 0
pages = dynamodb.get_paginator("scan").paginate(TableName=table_name, PaginationConfig={"MaxItems": 10})
for page in pages:
    for item in page["Items"]:
        count += 1
        total += int(item["qty"]["N"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    dynamodb.update_item(
        TableName=table_name, Key={"sku": {"S": sku}},
        UpdateExpression="SET qty = qty - :n", ConditionExpression="qty >= :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
    )


sell("C-106", 2)
print("sold 2 C-106")
try:
    sell("D-303", 1)
except ClientError as e:
    if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
        print("out of stock: D-303")
    else:
        raise

dynamodb.delete_table(TableName=table_name)
# The table is DELETING for a while after delete_table; wait until it is gone.
dynamodb.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
