# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()

FILES = ["one.txt", "two.txt", "three.txt"]


def audit():
    response = s3.list_objects_v2(Bucket=bucket_name)
    for obj in response["Contents"]:
        print(obj["Key"], "->", obj["Size"], "bytes")
    for tag in s3.get_object_tagging(Bucket=bucket_name, Key="two.txt")["TagSet"]:
        print("two.txt tag:", tag["Key"], "=", tag["Value"])


def cleanup():
    # Deleting a bucket fails with BucketNotEmpty while objects are still in it.
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
for name in FILES:
    with open(name, "w") as f:
        f.write(f"This is {name}\n")
    args = {"Tagging": "project=intern-labs"} if name == "two.txt" else None
    s3.upload_file(name, bucket_name, name, ExtraArgs=args)
audit()
cleanup()
