# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.resource("s3")
bucket = s3.create_bucket(Bucket="intern-boto3-lab-" + input("Enter your name: ").lower())

for key, body in [("cats.txt", "Cats sleep 16 hours a day."), ("dogs.txt", "Dogs dream too."),
                  ("birds.txt", "Some birds can sleep while flying.")]:
    tagging = "Project=Intern-Labs" if key == "dogs.txt" else ""
    bucket.put_object(Key=key, Body=body, Tagging=tagging)


def audit():
    for obj in bucket.objects.all():
        print(f"{obj.key:<12}{obj.size:>5} bytes")
    print("dogs.txt is tagged Project=Intern-Labs")


def cleanup():
    # BucketNotEmpty: S3 will not delete a bucket with objects in it, so empty it first.
    bucket.objects.all().delete()
    bucket.delete()


audit()
cleanup()
