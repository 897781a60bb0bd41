# Lab 06 - S3 Content Manager
import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()
files = {"north.txt": "North wing\n", "south.txt": "South wing!\n", "east.txt": "East wing, tagged\n"}


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(obj["Key"], obj["Size"], "bytes")
    print("east.txt tags:", s3.get_object_tagging(Bucket=bucket_name, Key="east.txt")["TagSet"])


def cleanup():
    # S3 returns BucketNotEmpty if you delete a bucket that still has objects,
    # so every object is deleted first.
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)


s3.create_bucket(Bucket=bucket_name)
for name, text in files.items():
    with open(name, "w") as f:
        f.write(text)
    extra = {"Tagging": "Project=Intern-Labs"} if name == "east.txt" else None
    s3.upload_file(name, bucket_name, name, ExtraArgs=extra)
audit()
print("All done!")
