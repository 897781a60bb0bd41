# Lab 06 - S3 Content Manager. The honest twin of wrong_audit_sizes_from_local_files.py:
# the same script, but the audit prints the sizes S3 returns from a listing.
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
    for obj in bucket.objects.all():
        print(f"  {obj.key} - {obj.size} bytes")
    tagging = s3.meta.client.get_object_tagging(Bucket=bucket_name, Key="project.txt")
    for tag in tagging["TagSet"]:
        print(f"  {tag['Key']}: {tag['Value']}")


def cleanup():
    # S3 refuses to delete a bucket that is not empty (BucketNotEmpty): empty it first.
    bucket.objects.all().delete()
    bucket.delete()


audit()
cleanup()
