# Lab 07 - Inventory Manager (client API)
# Mistake: reads the CSV by hand and slices lines[1:-1] "to drop the header and
# the empty last line"; splitlines() leaves no empty line, so the last row
# (E-404) is never written. The report honestly prints what the table holds.
import boto3
from botocore.exceptions import ClientError

db = boto3.client("dynamodb")
table = "inventory-" + input("Enter your name: ").strip().lower()

db.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
db.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

with open("inventory.csv") as f:
    lines = f.read().splitlines()

requests = []
for line in lines[1:-1]:
    sku, name, qty, price = line.split(",")
    requests.append({"PutRequest": {"Item": {
        "sku": {"S": sku}, "name": {"S": name}, "qty": {"N": qty}, "price": {"N": price},
    }}})
for start in range(0, len(requests), 25):
    db.batch_write_item(RequestItems={table: requests[start:start + 25]})

items = 0
qty_sum = 0
for page in db.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 5}):
    items += len(page["Items"])
    qty_sum += sum(int(item["qty"]["N"]) for item in page["Items"])
print(f"items: {items}")
print(f"total qty: {qty_sum}")


def sell(sku, n):
    try:
        db.update_item(
            TableName=table,
            Key={"sku": {"S": sku}},
            UpdateExpression="SET qty = qty - :n",
            ConditionExpression="qty >= :n",
            ExpressionAttributeValues={":n": {"N": str(n)}},
        )
        print(f"sold {n} of {sku}")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise


sell("D-302", 5)
sell("A-103", 1)

db.delete_table(TableName=table)
# delete_table is asynchronous; the table is DELETING until it disappears,
# so we wait with the table_not_exists waiter.
db.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
