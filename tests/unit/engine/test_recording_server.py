"""The recorder in front of the real mock, served over HTTP in this process, driven by boto3.

The app is built exactly as the zygote builds it (moto_internals.gated_dispatcher,
warm_up, RecordingMiddleware); only the transport differs: a werkzeug server on
127.0.0.1 instead of the run's unix socket. No sandbox is involved, so these
tests run anywhere the unit tests do.
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, ParamValidationError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import moto_internals, recorder
from engine.record import Call, state_after
from engine.recorder import RecordingMiddleware
from engine.runner import read_call_record

# Signed like boto3 signs an S3 request; the recorder and moto only read the credential scope.
S3_AUTH = (
    "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000"
)


@dataclass
class Run:
    """One fresh mock: its recorder, its record file, and what the client sent."""

    middleware: RecordingMiddleware
    path: Path
    sent: int = 0
    lost: list[str] = field(default_factory=list)  # requests that got no HTTP answer


class RecordingServer:
    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        self.app = moto_internals.gated_dispatcher(frozenset({"s3"}))
        moto_internals.warm_up(self.app)
        self.run: Run | None = None
        self.dir = tempfile.mkdtemp(prefix="labgrader-recorder-test-")
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True, request_handler=QuietHandler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"}),
        )
        self.s3.meta.events.register("before-send.s3", self._count)

    def _dispatch(self, environ, start_response):
        return self.run.middleware(environ, start_response)

    def _count(self, **_) -> None:
        self.run.sent += 1

    def fresh(self, **limits) -> Run:
        """An empty mock with a new record, as each run's fork starts."""
        moto_internals.reset_state()
        return self.fresh_recorder(**limits)

    def fresh_recorder(self, **limits) -> Run:
        """A new record for the mock as it is."""
        path = Path(self.dir) / "record.jsonl"
        record_file = path.open("w", encoding="utf-8")
        self.run = Run(RecordingMiddleware(self.app, record_file, **limits), path)
        return self.run

    def finish(self) -> tuple[list[Call], dict, int]:
        self.run.middleware.finish()
        self.run.middleware.record_file.close()
        calls, final_state, dropped, _services = read_call_record(self.run.path)
        return calls, final_state, dropped

    def raw(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> int:
        """A request boto3 would not send, counted like boto3's."""
        self.run.sent += 1
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={"Authorization": S3_AUTH, **(headers or {})})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def mock():
    server = RecordingServer()
    yield server
    server.close()
    moto_internals.reset_state()


# --- what a student can do to S3, as data Hypothesis can draw and shrink ----------------------

BUCKETS = st.sampled_from(["lab-a", "lab-a", "lab-a", "lab-b"])
# Mostly the same few keys (repeats weigh), so that reads, copies and deletes find what
# earlier puts made; then odd ones: dot segments, a leading slash, 1,024 bytes ASCII and not.
KEYS = st.one_of(
    st.sampled_from(["notes.txt"] * 4 + ["ü/日本語.txt"] * 2 + ["a b+c%41.txt", "..", "/lead", "k" * 1024, "é" * 512]),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12),
)
BODIES = st.one_of(
    st.just(b""),
    st.binary(max_size=40),
    st.text(max_size=30).map(str.encode),
    st.text(max_size=10).map(lambda t: t.encode("utf-16")),
)
TAGGING = st.sampled_from([None, "Project=Intern-Labs", "a=b&c=d", "%C3%BF=%C3%BC"])
PUT = st.tuples(
    st.just("put"),
    BUCKETS,
    KEYS,
    BODIES,
    TAGGING,
    st.sampled_from([None, "AES256"]),
    st.sampled_from([None, "SHA256", "CRC32"]),
    st.sampled_from([None, "get", "tagging", "acl", "head"]),  # then read it back
)
READ = st.tuples(st.just("read"), BUCKETS, KEYS, st.sampled_from(["get", "head", "tagging", "acl", "attributes"]))
ACTIONS = st.one_of(
    PUT,
    READ,
    st.tuples(st.just("copy"), BUCKETS, KEYS, KEYS, st.sampled_from(["COPY", "REPLACE"])),
    st.tuples(st.just("tag"), BUCKETS, KEYS, st.booleans()),
    st.tuples(st.just("delete"), BUCKETS, KEYS, st.booleans()),
    st.tuples(st.just("list"), BUCKETS, st.sampled_from(["v1", "v2", "versions", "uploads"])),
    st.tuples(st.just("multipart"), BUCKETS, KEYS, st.integers(0, 1), st.sampled_from(["complete", "abort", "leave"])),
    st.tuples(st.just("versioning"), BUCKETS, st.sampled_from(["Enabled", "Suspended"])),
    st.tuples(st.just("create_bucket"), BUCKETS, st.booleans()),
    st.tuples(st.just("acl"), BUCKETS, KEYS),
    st.tuples(st.just("lock"), BUCKETS, KEYS, st.sampled_from(["retention", "legal-hold"])),
    st.tuples(st.just("presigned"), BUCKETS, KEYS, st.sampled_from(["get_object", "put_object"])),
    st.tuples(st.just("config"), BUCKETS, st.sampled_from(["website", "lifecycle", "accelerate", "cors"])),
    st.tuples(st.just("ambiguous"), BUCKETS, KEYS),
    st.tuples(st.just("delete_many"), BUCKETS, st.lists(KEYS, min_size=1, max_size=3)),
)
# How a run ends: the lab's cleanup(), a bare delete_bucket, or nothing.
ENDINGS = st.sampled_from([(), ("cleanup",), ("delete_bucket",)])


def perform(mock: RecordingServer, action: tuple) -> None:
    """Do one thing a student's script might do; S3's refusals are part of the game."""
    try:
        globals()["_" + action[0]](mock, *action[1:])
    except (ClientError, ResponseParserError, ParamValidationError):
        pass  # an answer came back (or boto3 refused to send): what it said is moto's business
    except (HTTPClientError, BotoConnectionError, http.client.HTTPException, OSError) as error:
        mock.run.lost.append(f"{action[0]}: {type(error).__name__}: {error}")


def _create_bucket(mock, bucket, lock):
    mock.s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=lock)


def _versioning(mock, bucket, status):
    mock.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def _put(mock, bucket, key, body, tagging, sse, checksum, read_back):
    extra = {"Tagging": tagging, "ServerSideEncryption": sse, "ChecksumAlgorithm": checksum}
    mock.s3.put_object(Bucket=bucket, Key=key, Body=body, **{k: v for k, v in extra.items() if v})
    if read_back:
        _read(mock, bucket, key, read_back)


def _copy(mock, bucket, key, source, directive):
    mock.s3.copy_object(
        Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": source}, TaggingDirective=directive, Tagging="x=y"
    )


def _read(mock, bucket, key, which):
    if which == "attributes":
        mock.s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ETag", "ObjectSize"])
        return
    method = {"get": "get_object", "head": "head_object", "tagging": "get_object_tagging", "acl": "get_object_acl"}
    getattr(mock.s3, method[which])(Bucket=bucket, Key=key)


def _tag(mock, bucket, key, add):
    if add:
        mock.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "Project", "Value": "x"}]})
    else:
        mock.s3.delete_object_tagging(Bucket=bucket, Key=key)


def _acl(mock, bucket, key):
    mock.s3.put_object_acl(Bucket=bucket, Key=key, ACL="public-read")


def _delete(mock, bucket, key, every_version):
    if not every_version:
        mock.s3.delete_object(Bucket=bucket, Key=key)
        return
    versions = mock.s3.list_object_versions(Bucket=bucket, Prefix=key)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        if entry["Key"] == key:
            mock.s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])


def _delete_many(mock, bucket, keys):
    mock.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})


def _list(mock, bucket, kind):
    method = {
        "v1": "list_objects",
        "v2": "list_objects_v2",
        "versions": "list_object_versions",
        "uploads": "list_multipart_uploads",
    }
    getattr(mock.s3, method[kind])(Bucket=bucket)


def _multipart(mock, bucket, key, parts, finish):
    upload = mock.s3.create_multipart_upload(Bucket=bucket, Key=key, Tagging="Project=Intern-Labs")["UploadId"]
    done = []
    for number in range(1, parts + 1):
        etag = mock.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=b"part")["ETag"]
        done.append({"ETag": etag, "PartNumber": number})
    if finish == "complete":
        mock.s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})
    elif finish == "abort":
        mock.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)


def _config(mock, bucket, kind):
    if kind == "website":
        mock.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    elif kind == "lifecycle":
        rule = {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
        mock.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    elif kind == "accelerate":
        mock.s3.get_bucket_accelerate_configuration(Bucket=bucket)
    else:
        rule = {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}
        mock.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})


def _lock(mock, bucket, key, kind):
    if kind == "retention":
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        mock.s3.put_object_retention(Bucket=bucket, Key=key, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    else:
        mock.s3.put_object_legal_hold(Bucket=bucket, Key=key, LegalHold={"Status": "ON"})


def _presigned(mock, bucket, key, method):
    url = mock.s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key})
    data = b"presigned body" if method == "put_object" else None
    mock.run.sent += 1
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=data, method="PUT" if data else "GET"), timeout=10)
    except urllib.error.HTTPError:
        pass


def _ambiguous(mock, bucket, key):
    mock.raw("GET", f"/{bucket}/{urllib.request.quote(key)}?tagging&acl")


def _cleanup(mock, bucket):
    """The lab's cleanup(): delete what a listing shows, then the bucket."""
    for obj in mock.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        mock.s3.delete_object(Bucket=bucket, Key=obj["Key"])
    mock.s3.delete_bucket(Bucket=bucket)


def _delete_bucket(mock, bucket):
    mock.s3.delete_bucket(Bucket=bucket)


def plain(state: dict) -> dict:
    return {bucket: {key: vars(obj) for key, obj in objects.items()} for bucket, objects in state.items()}


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    locked=st.booleans(),
    versioning=st.sampled_from([None, "Enabled", "Suspended"]),
    actions=st.lists(ACTIONS, min_size=3, max_size=12),
    ending=ENDINGS,
)
def test_no_sequence_of_s3_operations_crashes_the_recorder_or_loses_a_call(mock, locked, versioning, actions, ending):
    run = mock.fresh()
    # Most actions need a bucket: start with one, as the lab does.
    perform(mock, ("create_bucket", "lab-a", locked))
    if versioning:
        perform(mock, ("versioning", "lab-a", versioning))
    for action in actions:
        perform(mock, action)
    for bucket in ("lab-a", "lab-b") if ending else ():
        perform(mock, (*ending, bucket))
    live = recorder.snapshot_s3()
    calls, final_state, dropped = mock.finish()
    for call in calls:  # what the examples exercised: --hypothesis-show-statistics
        event(f"{call.operation} {'ok' if call.ok else call.error_code or call.status}")
    assert run.lost == [], "a request got no HTTP answer"
    assert len(calls) == run.sent and dropped == 0, "a call went unrecorded"
    assert [c.params["record_error"] for c in calls if "record_error" in c.params] == []
    assert plain(final_state) == plain(live)
    assert plain(state_after(calls)) == plain(final_state), "the recorded changes do not add up to the final state"
    for call in calls:
        if call.operation in ("PutObject", "CopyObject") and call.changes:
            assert call.key in {change.key for change in call.changes}, "the recorded key is not the one moto wrote"
    assert listed_by_s3(mock, final_state) == {
        b: {k: o.size for k, o in objs.items()} for b, objs in final_state.items()
    }


def listed_by_s3(mock: RecordingServer, state: dict) -> dict[str, dict[str, int]]:
    """What S3 itself lists in each bucket, asked after the run through a recorder nobody reads."""
    mock.fresh_recorder()
    pages = mock.s3.get_paginator("list_objects_v2")
    return {
        bucket: {o["Key"]: o["Size"] for page in pages.paginate(Bucket=bucket) for o in page.get("Contents", [])}
        for bucket in state
    }


def test_a_versioned_bucket_cleaned_up_like_the_lab_leaves_its_versions_and_is_recorded(mock):
    mock.fresh()
    mock.s3.create_bucket(Bucket="lab-v")
    mock.s3.put_bucket_versioning(Bucket="lab-v", VersioningConfiguration={"Status": "Enabled"})
    for name in ("a.txt", "b.txt", "c.txt"):
        mock.s3.put_object(Bucket="lab-v", Key=name, Body=b"text")
    for obj in mock.s3.list_objects_v2(Bucket="lab-v")["Contents"]:
        mock.s3.delete_object(Bucket="lab-v", Key=obj["Key"])
    with pytest.raises(ClientError, match="BucketNotEmpty"):
        mock.s3.delete_bucket(Bucket="lab-v")
    calls, final_state, _ = mock.finish()
    assert [c.operation for c in calls][-4:] == ["DeleteObject", "DeleteObject", "DeleteObject", "DeleteBucket"]
    assert final_state == {"lab-v": {}} == state_after(calls)


def test_a_bucket_of_a_thousand_and_one_keys_is_listed_page_by_page_and_emptied_in_batches(mock):
    mock.fresh()
    keys = [f"k{i:04}" for i in range(1001)]
    _seed_bucket("lab-many", keys)  # 1,001 uploads through HTTP would take the whole test budget
    mock.s3.put_object(Bucket="lab-many", Key="readme.txt", Body=b"the first recorded change")
    pages = list(mock.s3.get_paginator("list_objects_v2").paginate(Bucket="lab-many"))
    for start in range(0, 1002, 1000):
        batch = [{"Key": k} for k in [*keys, "readme.txt"][start : start + 1000]]
        mock.s3.delete_objects(Bucket="lab-many", Delete={"Objects": batch})
    mock.s3.delete_bucket(Bucket="lab-many")
    calls, final_state, _ = mock.finish()
    assert len(pages) == 2
    assert [c.operation for c in calls] == ["PutObject", "ListObjectsV2", "ListObjectsV2"] + ["DeleteObjects"] * 2 + [
        "DeleteBucket"
    ]
    assert len(calls[0].changes) == 1 + 1002  # the bucket and every key, found by the first snapshot
    assert final_state == {} == state_after(calls)


def _seed_bucket(bucket: str, keys: list[str]) -> None:
    """Objects put straight into moto's backend, before the recorder sees any call."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(bucket, "us-east-1")
    for key in keys:
        backend.put_object(bucket, key, b"")


def test_an_exception_while_recording_one_call_is_recorded_and_the_mock_keeps_serving(mock, monkeypatch):
    mock.fresh()
    mock.s3.create_bucket(Bucket="lab-err")
    real_snapshot = recorder.snapshot_s3
    failures = iter([RuntimeError("the recorder tripped")])

    def snapshot_failing_once():
        for error in failures:
            raise error
        return real_snapshot()

    monkeypatch.setattr(recorder, "snapshot_s3", snapshot_failing_once)
    mock.s3.put_object(Bucket="lab-err", Key="a.txt", Body=b"one")
    mock.s3.put_object(Bucket="lab-err", Key="b.txt", Body=b"two")
    calls, final_state, _ = mock.finish()
    assert [c.operation for c in calls] == ["CreateBucket", "PutObject", "PutObject"]
    assert calls[1].params["record_error"] == "RuntimeError: the recorder tripped"
    # The next call's changes carry what the failed one missed: the replay still adds up.
    assert sorted(final_state["lab-err"]) == ["a.txt", "b.txt"]
    assert state_after(calls) == final_state


def test_no_recorded_field_holds_more_than_about_a_kibibyte(mock):
    run = mock.fresh()
    mock.s3.create_bucket(Bucket="lab-big")
    noise = "\xff" * 60_000
    status = mock.raw(
        "PUT",
        "/lab-big/" + "x" * 3000 + "?" + "q" * 3000,
        headers={"x-amz-tagging": noise, "x-amz-copy-source": "lab-big/" + noise},
        body=b"",
    )
    assert status == 404
    calls, _, _ = mock.finish()
    entry = json.loads(run.path.read_text().splitlines()[1])
    assert len(json.dumps(entry)) < 12 * 1024
    strings = list(_strings(entry))
    assert max(len(json.dumps(s)) for s in strings) <= 1100
    assert any("[cut" in s for s in strings), "a cut field says so"
    assert calls[1].params["tagging_raw"].startswith("\xff")


def test_a_request_moto_itself_fails_on_is_answered_and_recorded(mock):
    mock.fresh()
    mock.s3.create_bucket(Bucket="lab-broken")
    # moto raises ValueError on a copy source without a slash, out of its own app.
    status = mock.raw("PUT", "/lab-broken/k", headers={"x-amz-copy-source": "no-slash"})
    mock.s3.put_object(Bucket="lab-broken", Key="after.txt", Body=b"still serving")
    calls, final_state, _ = mock.finish()
    assert status == 500
    assert [c.operation for c in calls] == ["CreateBucket", "CopyObject", "PutObject"]
    assert calls[1].status == 500 and calls[1].params["mock_error"].startswith("ValueError")
    assert list(final_state["lab-broken"]) == ["after.txt"]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_calls_past_the_record_budget_are_counted_and_the_trailer_still_fits(mock):
    run = mock.fresh(max_bytes=64 * 1024)
    mock.s3.create_bucket(Bucket="lab-budget")
    for _ in range(200):
        mock.raw("GET", "/lab-budget?list-type=2", headers={"x-amz-tagging": "\xff" * 60_000})
    mock.s3.put_object(Bucket="lab-budget", Key="late.txt", Body=b"after the budget")
    calls, final_state, dropped = mock.finish()
    assert os.path.getsize(run.path) <= 64 * 1024
    assert len(calls) + dropped == run.sent and dropped > 0
    assert final_state == {"lab-budget": {"late.txt": final_state["lab-budget"]["late.txt"]}}
