# Lab 07 - DynamoDB Inventory (resource API), page size exactly 10:
# three Scan calls (10 + 10 + 5 items), the fewest the lab allows.
# The items to sell are found from the scanned data, not hard-coded.
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

WAIT = {"Delay": 1, "MaxAttempts": 30}

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table("inventory-" + input("Enter your name: ").strip().lower())

dynamodb.meta.client.create_table(
    TableName=table.name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
# CreateTable returns before the table can take writes (status CREATING).
dynamodb.meta.client.get_waiter("table_exists").wait(TableName=table.name, WaiterConfig=WAIT)

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
with table.batch_writer(overwrite_by_pkeys=["sku"]) as batch:
    for row in rows:
        batch.put_item(Item={"sku": row["sku"], "name": row["name"],
                             "qty": Decimal(row["qty"]), "price": Decimal(row["price"])})

stock = {}
for page in dynamodb.meta.client.get_paginator("scan").paginate(
        TableName=table.name, PaginationConfig={"PageSize": 10}):
    for item in page["Items"]:
        stock[item["sku"]] = item["qty"]
print(f"items: {len(stock)}")
print(f"total qty: {sum(stock.values())}")


def sell(sku, n):
    table.update_item(
        Key={"sku": sku},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression=Attr("qty").gte(n),
        ExpressionAttributeValues={":n": n},
    )


in_stock = max(stock, key=stock.get)                 # the best-stocked item
sold_out = min(sku for sku, q in stock.items() if q == 0)
for sku in (in_stock, sold_out):
    try:
        sell(sku, 1)
        print(f"sold 1 {sku}")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

table.delete()
# Deleting is asynchronous: the table is DELETING and still exists for a while,
# so wait until it is gone.
table.wait_until_not_exists(WaiterConfig=WAIT)
