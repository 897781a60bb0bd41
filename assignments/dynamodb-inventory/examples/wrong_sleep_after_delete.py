# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: after table.delete() the script sleeps for a fixed 2 seconds instead
# of using the table_not_exists waiter; it never checks that the table is gone.
import csv
import time
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


for sku, n in (("D-304", 5), ("D-303", 2)):
    try:
        sell(sku, n)
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

table.delete()
# Deleting a table is asynchronous: it stays DELETING for a moment,
# so give DynamoDB a little time to finish.
time.sleep(2)
print("Deleted", table_name)
