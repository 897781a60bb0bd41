# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.resource("s3")
bucket = s3.create_bucket(Bucket="intern-boto3-lab-" + input("Enter your name: ").lower())

for i in range(1, 4):
    name = f"report{i}.txt"
    with open(name, "w") as f:
        f.write(f"Report number {i}\n")
    bucket.upload_file(name, name, ExtraArgs={"Tagging": "Project=Intern-Labs"})


def audit():
    for obj in bucket.objects.all():
        print(obj.key, obj.size, "bytes")
    tags = s3.meta.client.get_object_tagging(Bucket=bucket.name, Key="report1.txt")["TagSet"]
    print("report1.txt:", tags)


def cleanup():
    # To delete a bucket, it MUST be empty: S3 answers BucketNotEmpty otherwise.
    bucket.objects.all().delete()
    bucket.delete()


audit()
cleanup()
