# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.resource("s3")
name = input("Enter your name: ").lower()
bucket = s3.Bucket(f"content-manager-{name}")
bucket.create()

texts = {"monday.txt": "Mondays are for planning.", "tuesday.txt": "Tuesdays are for coding.",
         "wednesday.txt": "Wednesdays are for review."}
for key, text in texts.items():
    with open(key, "w") as f:
        f.write(text)
    if key == "monday.txt":
        bucket.upload_file(key, key, ExtraArgs={"Tagging": "Project=Intern-Labs"})
    else:
        bucket.upload_file(key, key)


def audit():
    for obj in bucket.objects.all():
        print(f"{obj.key}: {obj.size} bytes")
    tags = s3.meta.client.get_object_tagging(Bucket=bucket.name, Key="monday.txt")
    print("monday.txt is tagged", tags["TagSet"])


def cleanup():
    # To delete a bucket, it MUST be empty
    bucket.delete()
    print("bucket deleted")


audit()
cleanup()
