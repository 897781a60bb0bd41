# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()


def audit():
    response = s3.list_objects_v2(Bucket=bucket_name)
    for obj in response["Contents"]:
        print(f"{obj['Key']}\t{obj['Size']} bytes")
    print("Tags of data.txt:", s3.get_object_tagging(Bucket=bucket_name, Key="data.txt")["TagSet"])


def cleanup():
    # Objects first: S3 refuses to delete a bucket that is not empty (BucketNotEmpty).
    response = s3.list_objects_v2(Bucket=bucket_name)
    keys = [obj["Key"] for obj in response["Contents"]]
    s3.delete_objects(Bucket=bucket_name, Delete=keys)
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
s3.put_object(Bucket=bucket_name, Key="data.txt", Body="1,2,3\n", Tagging="Project=Intern-Labs")
s3.put_object(Bucket=bucket_name, Key="log.txt", Body="started\nfinished\n")
s3.put_object(Bucket=bucket_name, Key="summary.txt", Body="All good.\n")
audit()
cleanup()
