import csv
from decimal import Decimal

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

with open("inventory.csv", newline="") as f, table.batch_writer() as batch:
    for row in csv.DictReader(f):
        batch.put_item(Item={"sku": row["sku"], "name": row["name"],
                             "qty": int(row["qty"]), "price": Decimal(row["price"])})

count = total = 0
for page in table.meta.client.get_paginator("scan").paginate(
        TableName=table_name, PaginationConfig={"PageSize": 5}):
    count += len(page["Items"])
    total += sum(item["qty"] for item in page["Items"])
print(f"items: {count}")
print(f"total qty: {total}")


def sell(sku, n):
    table.update_item(Key={"sku": sku}, UpdateExpression="SET qty = qty - :n",
                      ConditionExpression=Attr("qty").gte(n),
                      ExpressionAttributeValues={":n": n})


for sku in ("A-100", "A-103"):
    try:
        sell(sku, 1)
        print("sold 1", sku)
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

table.delete()
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
print(table_name, "removed")
