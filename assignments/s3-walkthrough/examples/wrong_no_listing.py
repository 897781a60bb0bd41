import boto3

# Create an S3 resource
s3 = boto3.resource('s3')

# 1. Create a bucket (Note: must be globally unique!)
bucket_name = "intern-boto3-lab-" + input("Enter your name: ").lower()
bucket = s3.create_bucket(Bucket=bucket_name)
print(f"Created bucket: {bucket_name}")

# 2. Upload a file
with open("hello.txt", "w") as f:
    f.write("Hello from Boto3!")

bucket.upload_file("hello.txt", "hello-boto3.txt")
print("Uploaded hello.txt")
print("Done! Check the S3 console to see hello-boto3.txt")
