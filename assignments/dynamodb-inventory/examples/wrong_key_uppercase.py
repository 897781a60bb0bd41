# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: the partition key is called "SKU" instead of "sku".
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
name = input("Enter your name: ").strip().lower()

table = dynamodb.create_table(
    TableName=f"inventory-{name}",
    KeySchema=[{"AttributeName": "SKU", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "SKU", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f, table.batch_writer() as batch:
    for row in csv.DictReader(f):
        batch.put_item(Item={
            "SKU": row["sku"],
            "name": row["name"],
            "qty": int(row["qty"]),
            "price": Decimal(row["price"]),
        })

items = 0
total_qty = 0
pages = table.meta.client.get_paginator("scan").paginate(
    TableName=table.name, PaginationConfig={"PageSize": 10})
for page in pages:
    for item in page["Items"]:
        items += 1
        total_qty += item["qty"]
print(f"items: {items}")
print(f"total qty: {total_qty}")


def sell(sku, n):
    table.update_item(
        Key={"SKU": sku},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression=Attr("qty").gte(n),
        ExpressionAttributeValues={":n": n},
    )


sell("C-105", 4)
print("sold 4 x C-105")
try:
    sell("A-103", 1)
except ClientError as err:
    if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
        print("out of stock: A-103")
    else:
        raise

table.delete()
# The delete is asynchronous (the table stays DELETING for a while),
# so wait until it is gone before finishing.
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
