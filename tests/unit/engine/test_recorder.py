import io
import json

from engine.record import Change, ObjectInfo
from engine.recorder import RecordingMiddleware, classify_encoding, diff_states, parse_tag_header, parse_tagging_xml


def test_it_tells_utf8_utf16_and_binary_apart():
    assert classify_encoding("héllo".encode()) == "utf-8"
    assert classify_encoding("hello".encode("utf-16")) == "utf-16"
    assert classify_encoding("hello".encode("utf-16-le")) == "utf-16"
    assert classify_encoding(b"\x89PNG\r\n\x1a\n\xff\xd8") == "binary"
    assert classify_encoding(b"") == "utf-8"


def test_it_parses_the_tagging_header_like_s3():
    assert parse_tag_header("Project=Intern-Labs&Owner=a%20b") == {"Project": "Intern-Labs", "Owner": "a b"}
    assert parse_tag_header("Project: Intern-Labs") == {"Project: Intern-Labs": ""}


def test_it_parses_a_put_object_tagging_body():
    body = (
        b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>'
        b"<Tag><Key>Project</Key><Value>Intern-Labs</Value></Tag></TagSet></Tagging>"
    )
    assert parse_tagging_xml(body) == {"Project": "Intern-Labs"}
    assert parse_tagging_xml(b"not xml") == {}


def test_a_diff_lists_created_buckets_changed_objects_and_deletions():
    a = ObjectInfo(size=1)
    before = {"gone": {"x": a}, "kept": {"old": a, "same": a}}
    after = {"kept": {"same": a, "new": ObjectInfo(size=2)}, "fresh": {}}
    changes = diff_states(before, after)
    assert Change(bucket="fresh", created=True) in changes
    assert Change(bucket="kept", key="new", obj=ObjectInfo(size=2)) in changes
    assert Change(bucket="kept", key="old") in changes
    assert Change(bucket="gone", key="x") in changes and Change(bucket="gone") in changes
    assert not any(c.key == "same" for c in changes)


def create_bucket_through_the_recorder(authorization: str, body: bytes) -> tuple[dict, bytes]:
    """One CreateBucket through the middleware; returns what it recorded and the body moto received."""
    received = []

    def moto(environ, start_response):
        received.append(environ["wsgi.input"].read())
        start_response("409 Conflict", [("Content-Type", "application/xml")])
        return [b"<Error><Code>BucketAlreadyOwnedByYou</Code></Error>"]

    record = io.StringIO()
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/lab06-alice",
        "HTTP_HOST": "127.0.0.1:4566",
        "HTTP_AUTHORIZATION": authorization,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    RecordingMiddleware(moto, record)(environ, lambda *args: None)
    return json.loads(record.getvalue())["params"], received[0]


def test_a_create_bucket_records_its_signing_region_and_location_constraint_and_moto_still_gets_the_body():
    body = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    )
    auth = "AWS4-HMAC-SHA256 Credential=x/20261202/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
    params, received = create_bucket_through_the_recorder(auth, body)
    assert params == {"region": "us-east-1", "location_constraint": "eu-west-1"}
    assert received == body


def test_a_create_bucket_without_a_constraint_records_only_the_region_and_long_values_are_capped():
    auth = "AWS4-HMAC-SHA256 Credential=x/20261202/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=x"
    assert create_bucket_through_the_recorder(auth, b"")[0] == {"region": "eu-west-1"}
    body = (
        b"<CreateBucketConfiguration><LocationConstraint>"
        + b"x" * 500
        + b"</LocationConstraint></CreateBucketConfiguration>"
    )
    params, _ = create_bucket_through_the_recorder(auth, body)
    assert params["location_constraint"] == "x" * 64
