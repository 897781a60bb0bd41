# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()

files = {
    "file1.txt": "First file for the lab.\n",
    "file2.txt": "Second file, tagged.\n",
}


def audit():
    print("Audit:")
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        print(f"{obj['Key']} {obj['Size']} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key="file2.txt")["TagSet"]
    print("file2.txt tags:", tags)


def cleanup():
    # You can't delete a bucket that is not empty (BucketNotEmpty), so the
    # objects go first.
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)
    print("Cleanup done")


s3.create_bucket(Bucket=bucket_name)
for name, text in files.items():
    with open(name, "w") as f:
        f.write(text)
    extra = {"Tagging": "Project=Intern-Labs"} if name == "file2.txt" else {}
    s3.upload_file(name, bucket_name, name, ExtraArgs=extra)
audit()
cleanup()
