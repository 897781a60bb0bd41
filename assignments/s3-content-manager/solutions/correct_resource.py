# Lab 06 - S3 Content Manager, written with the boto3 resource API.
import boto3

s3 = boto3.resource("s3")

bucket_name = "intern-boto3-lab-" + input("Enter your name: ").lower()
bucket = s3.create_bucket(Bucket=bucket_name)
print(f"Created bucket: {bucket_name}")

# Three different text files, written locally first.
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
# Only this one gets the tag, and it is set during the upload.
bucket.upload_file("project.txt", "project.txt", ExtraArgs={"Tagging": "Project=Intern-Labs"})
print("Uploaded 3 files")


def audit():
    print(f"Objects in {bucket_name}:")
    for obj in bucket.objects.all():
        print(f"  {obj.key} - {obj.size} bytes")
    tagging = s3.meta.client.get_object_tagging(Bucket=bucket_name, Key="project.txt")
    print("Tags on project.txt:")
    for tag in tagging["TagSet"]:
        print(f"  {tag['Key']}: {tag['Value']}")


def cleanup():
    """Delete every object, then the bucket.

    Why the order matters: S3 will not delete a bucket that still contains
    objects. delete_bucket on a non-empty bucket fails with the error code
    BucketNotEmpty, so the bucket has to be emptied first.
    """
    bucket.objects.all().delete()
    bucket.delete()
    print(f"Deleted {bucket_name} and everything in it")


audit()
cleanup()
