# Lab 07 - DynamoDB Inventory
# Mistake: the table is named "<name>-inventory" instead of "inventory-<name>".
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
user = input("Enter your name: ").lower()
table = dynamodb.create_table(
    TableName=f"{user}-inventory",
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
print("table ready:", table.name)

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
with table.batch_writer() as writer:
    for r in rows:
        writer.put_item(Item={"sku": r["sku"], "name": r["name"],
                              "qty": Decimal(r["qty"]), "price": Decimal(r["price"])})

scanned = []
for page in table.meta.client.get_paginator("scan").paginate(
        TableName=table.name, PaginationConfig={"PageSize": 6}):
    scanned.extend(page["Items"])
print(f"items: {len(scanned)}")
print(f"total qty: {sum(i['qty'] for i in scanned)}")


def sell(sku, n):
    table.update_item(Key={"sku": sku}, UpdateExpression="SET qty = qty - :n",
                      ConditionExpression=Attr("qty").gte(n),
                      ExpressionAttributeValues={":n": n})


for sku in ["B-202", "B-204"]:
    try:
        sell(sku, 1)
        print("sold 1", sku)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

# Deleting a table takes time (status DELETING), so we wait until it is gone.
table.delete()
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
