# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: the failed sale is caught, but the script prints the error message
# ("out of stock: The conditional request failed") instead of the sku.
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

table_name = "inventory-" + input("Enter your name: ").strip().lower()
dynamodb = boto3.resource("dynamodb")
table = dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
table.wait_until_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
with table.batch_writer() as batch:
    for row in rows:
        batch.put_item(Item={"sku": row["sku"], "name": row["name"],
                             "qty": int(row["qty"]), "price": Decimal(row["price"])})

n_items = 0
qty_total = 0
for page in table.meta.client.get_paginator("scan").paginate(
        TableName=table_name, PaginationConfig={"PageSize": 5}):
    n_items += page["Count"]
    qty_total += sum(item["qty"] for item in page["Items"])
print(f"items: {n_items}")
print(f"total qty: {qty_total}")


def sell(sku, n):
    try:
        table.update_item(Key={"sku": sku}, UpdateExpression="SET qty = qty - :n",
                          ConditionExpression=Attr("qty").gte(n),
                          ExpressionAttributeValues={":n": n})
        print(f"sold {n} {sku}")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print("out of stock:", error.response["Error"]["Message"])
        else:
            raise


sell("E-403", 2)
sell("B-204", 1)

table.delete()
# delete() is asynchronous; the table is DELETING until it is gone, so wait.
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
