"""S3 Content Manager: uploads the three .txt files that come with this script.

I create the bucket in eu-west-1, so create_bucket needs a LocationConstraint
(only us-east-1 works without one). Tagging is done with put_object(Tagging=...).
"""
import os

import boto3

REGION = "eu-west-1"
TEXT_FILES = ["story.txt", "scores.txt", "reminder.txt"]
TAGGED = "reminder.txt"

s3 = boto3.client("s3", region_name=REGION)


def upload_all(bucket):
    for name in TEXT_FILES:
        with open(name, "rb") as f:
            body = f.read()
        if name == TAGGED:
            s3.put_object(Bucket=bucket, Key=name, Body=body, Tagging="Project=Intern-Labs")
        else:
            s3.put_object(Bucket=bucket, Key=name, Body=body)
        print("uploaded", name, f"({os.path.getsize(name)} bytes on disk)")


def audit(bucket):
    paginator = s3.get_paginator("list_objects_v2")
    total = 0
    for page in paginator.paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            print(obj["Key"])
            print("    size:", obj["Size"], "bytes")
            total += 1
    print(total, "objects in", bucket)
    tags = s3.get_object_tagging(Bucket=bucket, Key=TAGGED)["TagSet"]
    print("tags of", TAGGED, "->", {t["Key"]: t["Value"] for t in tags})


def cleanup(bucket):
    # A bucket can only be deleted once it is empty, otherwise S3 answers
    # BucketNotEmpty. So: list what is left, delete it in one batch, then the bucket.
    listing = s3.list_objects_v2(Bucket=bucket)
    keys = [{"Key": obj["Key"]} for obj in listing.get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
    s3.delete_bucket(Bucket=bucket)
    print("cleaned up", bucket)


if __name__ == "__main__":
    user = input("Enter your name: ").strip().lower()
    bucket = f"{user}-content-manager-eu"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    upload_all(bucket)
    audit(bucket)
    cleanup(bucket)
