# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
user = input("Enter your name: ").lower()

# Check that bucket creation works before doing the real thing.
s3.create_bucket(Bucket=f"{user}-test-bucket")
print("test bucket ok")

bucket_name = f"{user}-lab06-content"
s3.create_bucket(Bucket=bucket_name)

for i, word in enumerate(["red", "green", "blue"], start=1):
    path = f"color{i}.txt"
    with open(path, "w") as f:
        f.write(word * i)
    if word == "green":
        s3.upload_file(path, bucket_name, path, ExtraArgs={"Tagging": "Project=Intern-Labs"})
    else:
        s3.upload_file(path, bucket_name, path)


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(f"{obj['Key']} is {obj['Size']} bytes")
    print("color2.txt tags:", s3.get_object_tagging(Bucket=bucket_name, Key="color2.txt")["TagSet"])


def cleanup():
    # Buckets must be empty before deletion, or S3 raises BucketNotEmpty.
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


audit()
cleanup()
