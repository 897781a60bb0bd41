# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: put_item refused the float price ("Float types are not supported"),
# so the price is stored as a string instead of a Decimal number.
import csv

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
table_name = "inventory-" + input("Enter your name: ").strip().lower()

table = dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f:
    with table.batch_writer() as batch:
        for row in csv.DictReader(f):
            batch.put_item(Item={
                "sku": row["sku"],
                "name": row["name"],
                "qty": int(row["qty"]),
                "price": str(row["price"]),  # a string keeps the cents exact
            })

count, total = 0, 0
paginator = table.meta.client.get_paginator("scan")
for page in paginator.paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
    count += len(page["Items"])
    total += sum(item["qty"] for item in page["Items"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    table.update_item(
        Key={"sku": sku},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression=Attr("qty").gte(n),
        ExpressionAttributeValues={":n": n},
    )
    print(f"sold {n} {sku}")


for sku in ("D-301", "D-303"):
    try:
        sell(sku, 1)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

table.delete()
# The table is DELETING for a while after delete(); wait until it is gone.
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
