# Lab 07 - DynamoDB Inventory (resource API)
# Mistake: one table.scan() call without Limit reads all 25 items, no paginator.
import csv
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

dynamodb = boto3.resource("dynamodb")
name = input("Enter your name: ").strip().lower()
table = dynamodb.create_table(
    TableName="inventory-" + name,
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

# The table is small, so one scan is enough.
items = table.scan()["Items"]
print(f"items: {len(items)}")
print(f"total qty: {sum(item['qty'] for item in items)}")


def sell(sku, n):
    table.update_item(Key={"sku": sku}, UpdateExpression="SET qty = qty - :n",
                      ConditionExpression=Attr("qty").gte(n),
                      ExpressionAttributeValues={":n": n})


try:
    sell("E-400", 6)
    print("sold 6 E-400")
    sell("A-103", 1)
except ClientError as error:
    if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
        print("out of stock: A-103")
    else:
        raise

table.delete()
# delete() is asynchronous: the table is DELETING until it is really gone,
# so wait for that before the script ends.
table.wait_until_not_exists(WaiterConfig={"Delay": 1, "MaxAttempts": 30})
