"""Lab 07 - DynamoDB Inventory Manager (low-level client API).

Creates a table, loads inventory.csv in batches, reports the stock with a
paginated Scan, sells with a conditional update, and cleans up.
"""
import csv

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")

# Waiters poll DescribeTable. The default is one poll every 20 seconds; a
# shorter delay keeps the script quick when the table is not ready at once.
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 30}

name = input("Enter your name: ").strip().lower()
TABLE_NAME = f"inventory-{name}"


def create_table():
    dynamodb.create_table(
        TableName=TABLE_NAME,
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",  # on-demand: no capacity to provision
    )
    # create_table returns while the table is still CREATING; writing to it now
    # would fail. The waiter polls DescribeTable until the status is ACTIVE.
    dynamodb.get_waiter("table_exists").wait(TableName=TABLE_NAME, WaiterConfig=WAITER_CONFIG)
    print(f"Table {TABLE_NAME} is ready")


def load_items(path="inventory.csv"):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    requests = []
    for row in rows:
        item = {
            "sku": {"S": row["sku"]},
            "name": {"S": row["name"]},
            # The client API sends numbers as strings tagged "N".
            "qty": {"N": row["qty"]},
            "price": {"N": row["price"]},
        }
        requests.append({"PutRequest": {"Item": item}})

    # BatchWriteItem accepts at most 25 requests per call.
    for start in range(0, len(requests), 25):
        batch = {TABLE_NAME: requests[start:start + 25]}
        while batch:
            response = dynamodb.batch_write_item(RequestItems=batch)
            # DynamoDB may hand back part of a batch when it is busy; send it again.
            batch = response.get("UnprocessedItems") or {}
    print(f"Loaded {len(rows)} rows from {path}")


def report():
    # A Scan returns at most one page per call; the paginator follows
    # LastEvaluatedKey / ExclusiveStartKey for us. PageSize is the Scan's Limit.
    paginator = dynamodb.get_paginator("scan")
    items = 0
    total_qty = 0
    for page in paginator.paginate(TableName=TABLE_NAME, PaginationConfig={"PageSize": 5}):
        for item in page["Items"]:
            items += 1
            total_qty += int(item["qty"]["N"])
    print(f"items: {items}")
    print(f"total qty: {total_qty}")


def sell(sku, n):
    """Take n units of sku out of stock, but only if at least n are in stock.

    The check and the decrement happen in one UpdateItem, so two sales at the
    same time cannot both take the last unit. If the condition is false,
    DynamoDB refuses the update with ConditionalCheckFailedException.
    """
    response = dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"sku": {"S": sku}},
        UpdateExpression="SET qty = qty - :n",
        ConditionExpression="qty >= :n",
        ExpressionAttributeValues={":n": {"N": str(n)}},
        ReturnValues="UPDATED_NEW",
    )
    print(f"sold {n} x {sku}, {response['Attributes']['qty']['N']} left")


def try_to_sell(sku, n):
    try:
        sell(sku, n)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            print(f"out of stock: {sku}")
        else:
            raise  # any other error is a real problem: do not hide it


def cleanup():
    dynamodb.delete_table(TableName=TABLE_NAME)
    # delete_table is asynchronous: it returns while the table is still
    # DELETING, and the table (and its name) is only gone some time later.
    # The table_not_exists waiter polls DescribeTable until it answers
    # ResourceNotFoundException, so we know the table is really gone.
    dynamodb.get_waiter("table_not_exists").wait(TableName=TABLE_NAME, WaiterConfig=WAITER_CONFIG)
    print(f"Deleted table {TABLE_NAME}")


def main():
    create_table()
    load_items()
    report()
    try_to_sell("A-100", 2)  # 12 in stock: succeeds
    try_to_sell("A-103", 1)  # 0 in stock: the condition fails
    cleanup()


if __name__ == "__main__":
    main()
