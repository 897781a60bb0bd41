# Lab 07 - Inventory Manager (client API)
# Mistake: a scratch table "alice-test" is created first to "check the
# credentials work" and is never deleted; only inventory-<name> is cleaned up.
import csv

import boto3
from botocore.exceptions import ClientError

ddb = boto3.client("dynamodb")
name = input("Enter your name: ").strip().lower()
table = f"inventory-{name}"
WAIT = {"Delay": 1, "MaxAttempts": 30}


def make_table(table_name):
    ddb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=WAIT)


# quick test that DynamoDB works before the real thing
make_table(f"{name}-test")
print("test table OK")

make_table(table)
with open("inventory.csv", newline="") as f:
    rows = list(csv.DictReader(f))
for i in range(0, len(rows), 25):
    ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                 "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
        for r in rows[i:i + 25]
    ]})

items = total = 0
for page in ddb.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 5}):
    items += page["Count"]
    total += sum(int(i["qty"]["N"]) for i in page["Items"])
print(f"items: {items}")
print(f"total qty: {total}")


def sell(sku, n):
    try:
        ddb.update_item(TableName=table, Key={"sku": {"S": sku}},
                        UpdateExpression="SET qty = qty - :n",
                        ConditionExpression="qty >= :n",
                        ExpressionAttributeValues={":n": {"N": str(n)}})
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise


sell("C-109", 1)
sell("D-303", 1)

ddb.delete_table(TableName=table)
# delete_table is asynchronous: the table stays DELETING for a while, so we
# wait until DescribeTable says it is gone.
ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=WAIT)
