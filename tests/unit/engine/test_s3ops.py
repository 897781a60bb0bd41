import pytest

from engine import s3ops
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


def test_it_takes_the_path_as_the_server_decoded_it_like_moto_does():
    # "%41" in a key is what boto3 sent as "%2541": decoding it again would name another key.
    assert split_bucket_key("127.0.0.1:4566", "/b/my notes%41.txt") == ("b", "my notes%41.txt")


# Issue 8, item 1: the name recorded is the operation the mock executed.


@pytest.mark.parametrize(
    "method,path,query,headers,expected",
    [
        ("GET", "/b", "accelerate", {}, "GetBucketAccelerateConfiguration"),
        ("GET", "/b", "versions&encoding-type=url", {}, "ListObjectVersions"),
        ("GET", "/b", "uploads", {}, "ListMultipartUploads"),
        ("GET", "/b", "inventory", {}, "ListBucketInventoryConfigurations"),
        ("GET", "/b", "inventory&id=x", {}, "GetBucketInventoryConfiguration"),
        ("GET", "/b", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
        ("PUT", "/b", "versioning", {}, "PutBucketVersioning"),
        ("PUT", "/b", "object-lock", {}, "PutObjectLockConfiguration"),
        ("DELETE", "/b", "website", {}, "DeleteBucketWebsite"),
        ("GET", "/b/k.txt", "acl", {}, "GetObjectAcl"),
        ("GET", "/b/k.txt", "tagging&versionId=3", {}, "GetObjectTagging"),
        ("GET", "/b/k.txt", "attributes", {}, "GetObjectAttributes"),
        ("PUT", "/b/k.txt", "retention", {}, "PutObjectRetention"),
        ("PUT", "/b/k.txt", "legal-hold", {}, "PutObjectLegalHold"),
        ("PUT", "/b/k.txt", "partNumber=2&uploadId=x", {"x-amz-copy-source": "b/j"}, "UploadPartCopy"),
        ("GET", "/b/k.txt", "uploadId=x", {}, "ListParts"),
        ("DELETE", "/b/k.txt", "uploadId=x", {}, "AbortMultipartUpload"),
        ("POST", "/b/k.txt", "restore", {}, "RestoreObject"),
        ("POST", "/b", "", {}, "PostObject"),
    ],
)
def test_it_names_every_subresource_the_mock_serves(method, path, query, headers, expected):
    bucket, key = split_bucket_key("127.0.0.1:4566", path)
    assert operation_name(method, bucket, key, query, headers) == expected


@pytest.mark.parametrize(
    "method,path,query",
    [
        ("GET", "/b", "list-type=2&prefix=a&max-keys=5&continuation-token=t&delimiter=/&start-after=a"),
        ("GET", "/b", "x-id=ListObjects&marker=a&encoding-type=url"),
        ("GET", "/b/k.txt", "versionId=3&partNumber=1&response-content-type=text/plain&x-id=GetObject"),
    ],
)
def test_parameters_that_are_not_subresources_do_not_change_the_name(method, path, query):
    bucket, key = split_bucket_key("127.0.0.1:4566", path)
    plain = operation_name(method, bucket, key, "list-type=2" if "list-type" in query else "", {})
    assert operation_name(method, bucket, key, query, {}) == plain


@pytest.mark.parametrize(
    "method,path,query",
    [
        ("GET", "/b/k.txt", "tagging&acl"),
        ("GET", "/b", "accelerate&list-type=2&versions"),
        ("PUT", "/b/k.txt", "tagging&acl"),
        ("GET", "/b", "policy&policyStatus"),
        ("DELETE", "/b/k.txt", "tagging&uploadId=x"),
    ],
)
def test_a_request_with_several_subresources_is_refused_as_ambiguous(method, path, query):
    bucket, key = split_bucket_key("127.0.0.1:4566", path)
    with pytest.raises(s3ops.Unnameable) as refused:
        operation_name(method, bucket, key, query, {})
    assert refused.value.code == "AmbiguousRequest"


@pytest.mark.parametrize(
    "method,path,query",
    [
        ("GET", "/b", "requestPayment"),  # moto answers it with a listing
        ("GET", "/b", "analytics"),
        ("GET", "/b", "metrics"),
        ("GET", "/b/k.txt", "torrent"),  # moto answers it with the object
        ("GET", "/b/k.txt", "retention"),
        ("PUT", "/b/k.txt", "annotation"),  # moto would overwrite the object
        ("GET", "/b", "delete"),
        ("PUT", "/b/k.txt", "partNumber=1"),
        ("DELETE", "/", ""),
    ],
)
def test_a_subresource_the_recorder_cannot_name_for_that_request_is_refused(method, path, query):
    bucket, key = split_bucket_key("127.0.0.1:4566", path)
    with pytest.raises(s3ops.Unnameable) as refused:
        operation_name(method, bucket, key, query, {})
    assert refused.value.code == "UnsupportedRequest"


def test_every_subresource_in_the_s3_api_model_is_known():
    # A botocore upgrade that adds a subresource fails here instead of letting it pass as a parameter.
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    in_model = set()
    for name in model.operation_names:
        query = model.operation_model(name).http["requestUri"].partition("?")[2]
        in_model |= {part for part in query.split("&") if part and "=" not in part}
    assert in_model | {"uploadId", "partNumber"} <= s3ops.SUBRESOURCES


def test_a_listing_is_confirmed_only_by_a_listing_of_that_bucket():
    listing = b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="x"><Name>b</Name></ListBucketResult>'
    assert s3ops.confirm_operation("ListObjectsV2", 200, "b", listing) == ("ListObjectsV2", {})
    other = listing.replace(b"<Name>b<", b"<Name>c<")
    assert s3ops.confirm_operation("ListObjectsV2", 200, "b", other)[0] == "Unconfirmed"
    accelerate = b"<GetBucketAccelerateConfigurationResponse/>"
    assert s3ops.confirm_operation("ListObjects", 200, "b", accelerate) == (
        "Unconfirmed",
        {"named": "ListObjects", "root": "GetBucketAccelerateConfigurationResponse"},
    )
    versions = b"<ListVersionsResult><Name>b</Name></ListVersionsResult>"
    assert s3ops.confirm_operation("ListObjectVersions", 200, "b", versions) == ("ListObjectVersions", {})
    assert s3ops.confirm_operation("ListObjectVersions", 200, "b", listing)[0] == "Unconfirmed"


def test_a_tag_read_is_confirmed_only_by_a_tagging_answer():
    tagging = b"<Tagging><TagSet><Tag><Key>Project</Key><Value>Intern-Labs</Value></Tag></TagSet></Tagging>"
    assert s3ops.confirm_operation("GetObjectTagging", 200, "b", tagging) == ("GetObjectTagging", {})
    acl = b"<AccessControlPolicy><Owner/></AccessControlPolicy>"
    assert s3ops.confirm_operation("GetObjectTagging", 200, "b", acl) == (
        "Unconfirmed",
        {"named": "GetObjectTagging", "root": "AccessControlPolicy"},
    )
    # An object body that happens to be text is no answer of a tag read either.
    assert s3ops.confirm_operation("GetObjectTagging", 200, "b", b"Project=Intern-Labs") == (
        "Unconfirmed",
        {"named": "GetObjectTagging", "root": None},
    )


def test_an_answer_named_after_the_operation_confirms_it():
    answer = b"<GetBucketAccelerateConfigurationResponse><Status/></GetBucketAccelerateConfigurationResponse>"
    assert s3ops.confirm_operation("GetBucketAccelerateConfiguration", 200, "b", answer) == (
        "GetBucketAccelerateConfiguration",
        {},
    )


def test_an_error_answer_keeps_the_name_of_what_was_asked():
    error = b"<Error><Code>NoSuchKey</Code></Error>"
    assert s3ops.confirm_operation("GetObjectTagging", 404, "b", error) == ("GetObjectTagging", {})


def test_an_operation_that_answers_with_the_object_is_not_judged_by_its_body():
    assert s3ops.confirm_operation("GetObject", 200, "b", b"<ListBucketResult/>") == ("GetObject", {})


def test_a_host_the_recorder_cannot_place_like_moto_is_refused():
    with pytest.raises(s3ops.Unnameable) as refused:
        split_bucket_key("evil.example:4566", "/b")
    assert refused.value.code == "UnsupportedRequest"
    assert split_bucket_key("localhost:4566", "/b/k") == ("b", "k")
    assert split_bucket_key("s3.us-east-1.amazonaws.com", "/b/k") == ("b", "k")
    assert split_bucket_key("b.s3.us-east-1.amazonaws.com", "//k") == ("b", "/k")
