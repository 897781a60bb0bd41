import pytest

from engine.s3ops import operation_name, split_bucket_key


@pytest.mark.parametrize(
    "method,path,query,headers,expected",
    [
        ("GET", "/", "", {}, "ListBuckets"),
        ("PUT", "/b", "", {}, "CreateBucket"),
        ("DELETE", "/b", "", {}, "DeleteBucket"),
        ("HEAD", "/b", "", {}, "HeadBucket"),
        ("GET", "/b", "list-type=2&encoding-type=url", {}, "ListObjectsV2"),
        ("GET", "/b", "encoding-type=url", {}, "ListObjects"),
        ("GET", "/b", "location", {}, "GetBucketLocation"),
        ("POST", "/b", "delete", {}, "DeleteObjects"),
        ("PUT", "/b", "tagging", {}, "PutBucketTagging"),
        ("PUT", "/b/k.txt", "", {}, "PutObject"),
        ("PUT", "/b/k.txt", "", {"x-amz-copy-source": "b/j.txt"}, "CopyObject"),
        ("PUT", "/b/k.txt", "tagging", {}, "PutObjectTagging"),
        ("GET", "/b/k.txt", "tagging", {}, "GetObjectTagging"),
        ("GET", "/b/k.txt", "", {}, "GetObject"),
        ("HEAD", "/b/k.txt", "", {}, "HeadObject"),
        ("DELETE", "/b/k.txt", "", {}, "DeleteObject"),
        ("POST", "/b/k.txt", "uploads", {}, "CreateMultipartUpload"),
        ("PUT", "/b/k.txt", "partNumber=1&uploadId=x", {}, "UploadPart"),
        ("POST", "/b/k.txt", "uploadId=x", {}, "CompleteMultipartUpload"),
    ],
)
def test_it_names_each_rest_request_like_boto3_does(method, path, query, headers, expected):
    bucket, key = split_bucket_key("127.0.0.1:4566", path)
    assert operation_name(method, bucket, key, query, headers) == expected


def test_it_reads_the_bucket_from_a_virtual_host():
    assert split_bucket_key("lab.s3.amazonaws.com", "/dir/k.txt") == ("lab", "dir/k.txt")
    assert split_bucket_key("lab.localhost:4566", "/") == ("lab", None)


def test_it_unquotes_keys_with_spaces():
    assert split_bucket_key("127.0.0.1:4566", "/b/my%20notes.txt") == ("b", "my notes.txt")
