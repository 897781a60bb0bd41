"""Lab 06 - The S3 Content Manager, with versioning turned on.

Versioning keeps every version of every object, so that an overwritten or
deleted file can be brought back. It changes how cleanup must work: see cleanup().
"""
import boto3

s3 = boto3.client("s3")

FILES = {
    "report-q1.txt": "Q1: 12 new interns, 3 labs finished.\n",
    "report-q2.txt": "Q2: 15 new interns, 5 labs finished.\n",
    "summary.txt": "Two quarters of the intern programme, in numbers.\n",
}
TAGGED_FILE = "summary.txt"


def create_bucket(bucket_name):
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    print(f"Created bucket {bucket_name} with versioning enabled")


def upload_files(bucket_name):
    for name, text in FILES.items():
        with open(name, "w", encoding="utf-8") as f:
            f.write(text)
        if name == TAGGED_FILE:
            s3.upload_file(name, bucket_name, name, ExtraArgs={"Tagging": "Project=Intern-Labs"})
        else:
            s3.upload_file(name, bucket_name, name)
        print(f"Uploaded {name}")


def audit(bucket_name):
    """Every object of the bucket with its size in bytes, then the tags of the tagged file."""
    print(f"Objects in {bucket_name}:")
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        print(f"  {obj['Key']}: {obj['Size']} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key=TAGGED_FILE)["TagSet"]
    print(f"Tags of {TAGGED_FILE}: " + ", ".join(f"{t['Key']}={t['Value']}" for t in tags))


def cleanup(bucket_name):
    # S3 deletes only an empty bucket: DeleteBucket on a bucket that still holds
    # anything fails with BucketNotEmpty. In a versioned bucket, delete_object
    # without a VersionId does not remove anything: it adds a delete marker and
    # keeps every version, and those still count. So the cleanup deletes every
    # version and every delete marker by its VersionId, then the bucket.
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket_name):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket_name, Key=entry["Key"], VersionId=entry["VersionId"])
            print(f"Deleted {entry['Key']} (version {entry['VersionId']})")
    s3.delete_bucket(Bucket=bucket_name)
    print(f"Deleted bucket {bucket_name}")


def main():
    bucket_name = "intern-versioned-" + input("Enter your name: ").strip().lower()
    create_bucket(bucket_name)
    upload_files(bucket_name)
    audit(bucket_name)
    cleanup(bucket_name)


if __name__ == "__main__":
    main()
