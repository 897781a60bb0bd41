"""Lab 06 - The S3 Content Manager (client API).

Creates a bucket, uploads three text files (one of them tagged
Project=Intern-Labs), audits the bucket, then cleans everything up.
"""
import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3")

FILES = {
    "notes.txt": "Meeting notes: S3 buckets hold objects.\n",
    "todo.txt": "1. Upload files\n2. Tag one\n3. Audit\n4. Clean up\n",
    "readme.txt": "This file is tagged for the intern labs project.\n",
}
TAGGED_FILE = "readme.txt"


def create_files():
    for name, text in FILES.items():
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)


def upload_files(bucket_name):
    for name in FILES:
        if name == TAGGED_FILE:
            # Tag only this one, during the upload itself.
            s3.upload_file(name, bucket_name, name,
                           ExtraArgs={"Tagging": "Project=Intern-Labs"})
        else:
            s3.upload_file(name, bucket_name, name)
        print(f"Uploaded {name}")


def audit(bucket_name):
    """List every object with its size in bytes, and show the tags of the tagged file."""
    print(f"Audit of {bucket_name}:")
    response = s3.list_objects_v2(Bucket=bucket_name)
    for obj in response.get("Contents", []):
        print(f"  {obj['Key']}: {obj['Size']} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key=TAGGED_FILE)["TagSet"]
    print(f"Tags of {TAGGED_FILE}:")
    for tag in tags:
        print(f"  {tag['Key']} = {tag['Value']}")
    return True


def cleanup(bucket_name):
    # S3 refuses to delete a bucket that still holds objects: DeleteBucket fails
    # with BucketNotEmpty. So we list and delete every object first, then the bucket.
    response = s3.list_objects_v2(Bucket=bucket_name)
    for obj in response.get("Contents", []):
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
        print(f"Deleted {obj['Key']}")
    s3.delete_bucket(Bucket=bucket_name)
    print(f"Deleted bucket {bucket_name}")


def main():
    bucket_name = "intern-content-manager-" + input("Enter your name: ").strip().lower()
    s3.create_bucket(Bucket=bucket_name)
    print(f"Created bucket: {bucket_name}")
    create_files()
    upload_files(bucket_name)
    try:
        ok = audit(bucket_name)
    except ClientError as error:
        print(f"Audit failed: {error.response['Error']['Code']}")
        ok = False
    if ok:
        cleanup(bucket_name)


if __name__ == "__main__":
    main()
