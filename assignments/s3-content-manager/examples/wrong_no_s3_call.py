# Lab 06 - S3 Content Manager
import boto3
import requests

requests.get("https://aws.amazon.com")

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()
s3.create_bucket(Bucket=bucket_name)
for i in range(3):
    extra = {"Tagging": "Project=Intern-Labs"} if i == 0 else {}
    s3.put_object(Bucket=bucket_name, Key=f"f{i}.txt", Body=f"file {i}", **extra)


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(obj["Key"], obj["Size"], "bytes")
    print(s3.get_object_tagging(Bucket=bucket_name, Key="f0.txt")["TagSet"])


def cleanup():
    # The bucket must be empty before deleting it (BucketNotEmpty otherwise).
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


audit()
cleanup()
