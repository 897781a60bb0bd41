# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(f"{obj['Key']}  {obj['Size']} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key="b.txt")["TagSet"]
    print("Tags of b.txt:", tags)


def cleanup():
    # The bucket must be empty before it can be deleted, so delete the objects first.
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
for name, text in [("a.txt", "apples"), ("b.txt", "bananas"), ("c.txt", "cherries")]:
    if name == "b.txt":
        s3.put_object(Bucket=bucket_name, Key=name, Body=text, Tagging="Project: Intern-Labs")
    else:
        s3.put_object(Bucket=bucket_name, Key=name, Body=text)
audit()
cleanup()
