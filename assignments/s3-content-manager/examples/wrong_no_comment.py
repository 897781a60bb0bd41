import boto3

s3 = boto3.client("s3")
bucket_name = "lab06-" + input("Enter your name: ").lower()

s3.create_bucket(Bucket=bucket_name)
contents = {"first.txt": "1st", "second.txt": "2nd!", "third.txt": "3rd!!"}
for key, text in contents.items():
    with open(key, "w") as f:
        f.write(text)
    if key == "first.txt":
        s3.upload_file(key, bucket_name, key, ExtraArgs={"Tagging": "Project=Intern-Labs"})
    else:
        s3.upload_file(key, bucket_name, key)


def audit():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        print(obj["Key"], obj["Size"])
    print(s3.get_object_tagging(Bucket=bucket_name, Key="first.txt")["TagSet"])


def cleanup():
    for obj in s3.list_objects_v2(Bucket=bucket_name)["Contents"]:
        s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)
    print("Deleted", bucket_name)


audit()
cleanup()
