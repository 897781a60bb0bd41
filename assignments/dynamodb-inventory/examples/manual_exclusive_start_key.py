# Lab 07 - Inventory Manager (client API), with the report's pagination written
# by hand: Scan with Limit=8, passing LastEvaluatedKey back as ExclusiveStartKey.
# That is exactly what the scan paginator does for you.
import csv

import boto3
from botocore.exceptions import ClientError

client = boto3.client("dynamodb")
table = "inventory-" + input("Enter your name: ").strip().lower()
WAIT = {"Delay": 1, "MaxAttempts": 30}

client.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=WAIT)  # until ACTIVE

with open("inventory.csv", newline="") as f:
    puts = [{"PutRequest": {"Item": {"sku": {"S": r["sku"]}, "name": {"S": r["name"]},
                                     "qty": {"N": r["qty"]}, "price": {"N": r["price"]}}}}
            for r in csv.DictReader(f)]
for i in range(0, len(puts), 25):
    pending = {table: puts[i:i + 25]}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")

items = 0
total = 0
kwargs = {"TableName": table, "Limit": 8}
while True:
    page = client.scan(**kwargs)
    items += page["Count"]
    total += sum(int(it["qty"]["N"]) for it in page["Items"])
    if "LastEvaluatedKey" not in page:
        break
    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
print(f"items: {items}")
print(f"total qty: {total}")


def sell(sku, n):
    client.update_item(TableName=table, Key={"sku": {"S": sku}},
                       UpdateExpression="SET qty = qty - :n",
                       ConditionExpression="qty >= :n",
                       ExpressionAttributeValues={":n": {"N": str(n)}})


for sku, n in (("E-401", 4), ("B-204", 1)):
    try:
        sell(sku, n)
        print(f"sold {n} {sku}")
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise

client.delete_table(TableName=table)
# delete_table returns at once while the table is still DELETING; wait until
# it is really gone.
client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=WAIT)
