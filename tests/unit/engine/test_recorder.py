from engine.record import Change, ObjectInfo
from engine.recorder import classify_encoding, diff_states, parse_tag_header, parse_tagging_xml


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
