# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: sell() reads the item with get_item, checks the stock in Python and
# then updates without a ConditionExpression. Two sales at once could both pass
# the check; DynamoDB never gets to refuse the update.
import csv
from decimal import Decimal

import boto3

dynamodb = boto3.resource("dynamodb")
table_name = "inventory-" + input("Enter your name: ").strip().lower()

table = dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f, table.batch_writer() as batch:
    for row in csv.DictReader(f):
        batch.put_item(Item={"sku": row["sku"], "name": row["name"],
                             "qty": int(row["qty"]), "price": Decimal(row["price"])})

count = 0
total = 0
for page in table.meta.client.get_paginator("scan").paginate(
        TableName=table_name, PaginationConfig={"PageSize": 5}):
    count += len(page["Items"])
    total += sum(item["qty"] for item in page["Items"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    item = table.get_item(Key={"sku": sku})["Item"]
    if item["qty"] < n:
        print(f"out of stock: {sku}")
        return
    table.update_item(Key={"sku": sku}, UpdateExpression="SET qty = qty - :n",
                      ExpressionAttributeValues={":n": n})
    print(f"sold {n} {sku}")


sell("A-101", 3)
sell("A-103", 1)

table.delete()
# delete() only starts deleting the table (status DELETING); wait until it is gone.
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
