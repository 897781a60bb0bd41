# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: the failed sale is never caught; a try/finally still cleans up, but
# the script then dies with ConditionalCheckFailedException and never prints
# "out of stock: ...".
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr

dynamodb = boto3.resource("dynamodb")
WAIT = {"Delay": 1, "MaxAttempts": 30}
table_name = "inventory-" + input("Enter your name: ").strip().lower()


def sell(table, sku, n):
    table.update_item(
        Key={"sku": sku},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression=Attr("qty").gte(n),
        ExpressionAttributeValues={":n": n},
    )
    print(f"sold {n} {sku}")


table = dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
try:
    table.wait_until_exists(WaiterConfig=WAIT)
    with open("inventory.csv", newline="") as f, table.batch_writer() as batch:
        for row in csv.DictReader(f):
            batch.put_item(Item={"sku": row["sku"], "name": row["name"],
                                 "qty": int(row["qty"]), "price": Decimal(row["price"])})

    count = total = 0
    for page in table.meta.client.get_paginator("scan").paginate(
            TableName=table_name, PaginationConfig={"PageSize": 5}):
        count += len(page["Items"])
        total += sum(i["qty"] for i in page["Items"])
    print(f"items: {count}")
    print(f"total qty: {total}")

    sell(table, "C-107", 3)
    sell(table, "D-303", 1)
finally:
    # Always remove the table, even if something above failed. Deleting is
    # asynchronous (the table is DELETING for a while), so wait until it is gone.
    table.delete()
    table.wait_until_not_exists(WaiterConfig=WAIT)
    print("cleaned up", table_name)
