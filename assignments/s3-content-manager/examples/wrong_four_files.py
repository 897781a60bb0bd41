# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()

files = {
    "alpha.txt": "alpha\n",
    "beta.txt": "beta beta\n",
    "gamma.txt": "gamma gamma gamma\n",
    "bonus.txt": "one more for good measure\n",
}


def audit():
    print("Audit:")
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        print(f"{obj['Key']}: {obj['Size']} bytes")
    tags = s3.get_object_tagging(Bucket=bucket_name, Key="beta.txt")["TagSet"]
    print("beta.txt tags:", tags)


def cleanup():
    # S3 only deletes empty buckets (otherwise BucketNotEmpty): objects first.
    for obj in s3.list_objects_v2(Bucket=bucket_name).get("Contents", []):
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
for name, text in files.items():
    with open(name, "w") as f:
        f.write(text)
    if name == "beta.txt":
        s3.upload_file(name, bucket_name, name, ExtraArgs={"Tagging": "Project=Intern-Labs"})
    else:
        s3.upload_file(name, bucket_name, name)
audit()
cleanup()
