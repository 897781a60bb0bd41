# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()
s3.create_bucket(Bucket=bucket_name)

for name, text in [("spring.txt", "Blossoms"), ("summer.txt", "Sunshine"), ("autumn.txt", "Leaves")]:
    with open(name, "w") as f:
        f.write(text)
    s3.upload_file(name, bucket_name, name)

s3.put_object_tagging(Bucket=bucket_name, Key="summer.txt",
                      Tagging={"TagSet": [{"Key": "Project", "Value": "Intern-Labs"}]})


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(f"{obj['Key']}: {obj['Size']} bytes")
    for tag in s3.get_object_tagging(Bucket=bucket_name, Key="summer.txt")["TagSet"]:
        print(f"summer.txt tag {tag['Key']}={tag['Value']}")


def cleanup():
    # You cannot delete a bucket that is not empty: S3 raises BucketNotEmpty.
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


audit()
cleanup()
