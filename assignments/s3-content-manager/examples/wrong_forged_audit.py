# Lab 06 - S3 Content Manager
import os

import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()
FILES = ["intro.txt", "body.txt", "outro.txt"]


def audit():
    print("Audit of", bucket_name)
    for name in FILES:
        print(f"{name}: {os.path.getsize(name)} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key="intro.txt")["TagSet"]
    print("intro.txt tags:", tags)


def cleanup():
    # A non-empty bucket cannot be deleted (BucketNotEmpty): delete the objects first.
    s3.delete_objects(Bucket=bucket_name, Delete={"Objects": [{"Key": k} for k in FILES]})
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
for n, name in enumerate(FILES):
    with open(name, "w") as f:
        f.write("x" * (10 + n) + "\n")
    extra = {"Tagging": "Project=Intern-Labs"} if name == "intro.txt" else {}
    s3.upload_file(name, bucket_name, name, ExtraArgs=extra)
audit()
cleanup()
