# Lab 06 - S3 Content Manager. The "audit" prints the sizes of the local files
# (os.path.getsize) and never asks S3; the only listing is cleanup's
# bucket.objects.all().delete(), after the sizes were printed.
import os

import boto3

s3 = boto3.resource("s3")

bucket_name = "intern-boto3-lab-" + input("Enter your name: ").lower()
bucket = s3.create_bucket(Bucket=bucket_name)
print(f"Created bucket: {bucket_name}")

files = {
    "hello.txt": "Hello from Boto3!",
    "shopping.txt": "milk\neggs\nbread\n",
    "project.txt": "Intern labs project plan, week 6: Boto3 and S3.",
}
for name, text in files.items():
    with open(name, "w") as f:
        f.write(text)

bucket.upload_file("hello.txt", "hello.txt")
bucket.upload_file("shopping.txt", "shopping.txt")
bucket.upload_file("project.txt", "project.txt", ExtraArgs={"Tagging": "Project=Intern-Labs"})


def audit():
    print(f"Objects in {bucket_name}:")
    for name in files:
        print(f"  {name} - {os.path.getsize(name)} bytes")
    tagging = s3.meta.client.get_object_tagging(Bucket=bucket_name, Key="project.txt")
    for tag in tagging["TagSet"]:
        print(f"  {tag['Key']}: {tag['Value']}")


def cleanup():
    # S3 refuses to delete a bucket that is not empty (BucketNotEmpty): empty it first.
    bucket.objects.all().delete()
    bucket.delete()


audit()
cleanup()
