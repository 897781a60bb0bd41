# Lab 07 - Inventory Manager
# Mistake: reads the CSV with pandas, which is not installed: the script dies
# with ModuleNotFoundError before any DynamoDB call.
import boto3
import pandas as pd
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")
table_name = "inventory-" + input("Enter your name: ").strip().lower()
WAIT = {"Delay": 1, "MaxAttempts": 30}

dynamodb.create_table(
    TableName=table_name,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig=WAIT)

df = pd.read_csv("inventory.csv", dtype=str)
requests = [{"PutRequest": {"Item": {"sku": {"S": r.sku}, "name": {"S": r.name},
                                     "qty": {"N": r.qty}, "price": {"N": r.price}}}}
            for r in df.itertuples()]
for i in range(0, len(requests), 25):
    dynamodb.batch_write_item(RequestItems={table_name: requests[i:i + 25]})

items = total = 0
for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, PaginationConfig={"PageSize": 5}):
    items += len(page["Items"])
    total += sum(int(i["qty"]["N"]) for i in page["Items"])
print(f"items: {items}")
print(f"total qty: {total}")

for sku in ("A-100", "A-103"):
    try:
        dynamodb.update_item(TableName=table_name, Key={"sku": {"S": sku}},
                             UpdateExpression="SET qty = qty - :n",
                             ConditionExpression="qty >= :n",
                             ExpressionAttributeValues={":n": {"N": "1"}})
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

dynamodb.delete_table(TableName=table_name)
# Deletion is asynchronous (DELETING): wait until the table is gone.
dynamodb.get_waiter("table_not_exists").wait(TableName=table_name, WaiterConfig=WAIT)
