"""Lab 06 - The S3 Content Manager.

Creates a bucket, uploads three text files (one of them tagged
Project=Intern-Labs), audits the bucket, then cleans everything up.
"""
import boto3

s3 = boto3.client("s3")

FILES = {
    "intro.txt": "Welcome to the intern content bucket.\n",
    "schedule.txt": "Mon: S3\nTue: DynamoDB\nWed: Lambda\n",
    "contacts.txt": "Mentor: ada@example.com\n",
}
TAGGED_FILE = "intro.txt"


def upload_files(bucket_name):
    for name, text in FILES.items():
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)
        extra = {"Tagging": "Project=Intern-Labs"} if name == TAGGED_FILE else {}
        s3.upload_file(name, bucket_name, name, ExtraArgs=extra)
        print(f"Uploaded {name}")


def audit(bucket_name):
    """List every object with its size in bytes, and show the tags of the tagged file."""
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        print(f"{obj['Key']}: {obj['Size']} bytes")
    for tag in s3.get_object_tagging(Bucket=bucket_name, Key=TAGGED_FILE)["TagSet"]:
        print(f"Tag of {TAGGED_FILE}: {tag['Key']} = {tag['Value']}")


def cleanup(bucket_name):
    # A bucket must be empty before it can be deleted (BucketNotEmpty otherwise).
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)
    print(f"Deleted bucket {bucket_name}")


def main():
    # One bucket per intern, named after them.
    bucket_name = "Intern_Content_" + input("Enter your name: ").strip().lower()
    s3.create_bucket(Bucket=bucket_name)
    print(f"Created bucket: {bucket_name}")
    upload_files(bucket_name)
    audit(bucket_name)
    cleanup(bucket_name)


if __name__ == "__main__":
    main()
