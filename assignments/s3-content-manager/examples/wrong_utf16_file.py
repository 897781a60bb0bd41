# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()

with open("notes.txt", "w", encoding="utf-16") as f:
    f.write("Notes from the Boto3 lab\n")
with open("ideas.txt", "w", encoding="utf-8") as f:
    f.write("Automate everything\n")
with open("tasks.txt", "w", encoding="utf-8") as f:
    f.write("Finish lab 06\n")

s3.create_bucket(Bucket=bucket_name)
s3.upload_file("notes.txt", bucket_name, "notes.txt")
s3.upload_file("ideas.txt", bucket_name, "ideas.txt", ExtraArgs={"Tagging": "Project=Intern-Labs"})
s3.upload_file("tasks.txt", bucket_name, "tasks.txt")


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(f"{obj['Key']} ({obj['Size']} bytes)")
    print("ideas.txt:", s3.get_object_tagging(Bucket=bucket_name, Key="ideas.txt")["TagSet"])


def cleanup():
    # delete_bucket only works on an empty bucket (else BucketNotEmpty).
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


audit()
cleanup()
