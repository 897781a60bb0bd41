"""WSGI middleware around moto's app, in the moto process: records each call.

The script cannot reach this file or the record it writes, so the record is
evidence the script cannot forge. `/moto-api/*` (reset, state dumps) is refused:
a script must not be able to erase the evidence of a failed cleanup.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from engine import moto_internals
from engine.moto_internals import ServiceRefused
from engine.record import Change, ObjectInfo
from engine.s3ops import MUTATING_METHODS, operation_name, split_bucket_key

# Past this many calls (Limits.recorded_calls), a call is counted but not
# detailed: tens of thousands of calls must not make the record (or its diffing) explode.
DEFAULT_RECORDED_CALLS = 5000
# Encoding is judged on the head of a body; lab files are a few bytes.
_ENCODING_SAMPLE = 1 << 20
_PREVIEW_CHARS = 200
_SMALL_BODY = 64 * 1024
_HEADERS_KEPT = ("x-amz-tagging", "x-amz-copy-source", "x-amz-tagging-directive", "content-type")
_S3_CREDENTIAL = re.compile(r"Credential=[^/]*/[^/]*/[^/]*/s3/")
_SIGNING_REGION = re.compile(r"Credential=[^/]*/[^/]*/([^/]*)/s3/")
_LOCATION_CONSTRAINT = re.compile(rb"<LocationConstraint>([^<]*)</LocationConstraint>")
_PARAM_CHARS = 64  # a region name is ~15; a script must not bloat the record through them

State = dict[str, dict[str, ObjectInfo]]


def classify_encoding(body: bytes) -> str:
    sample = body[:_ENCODING_SAMPLE]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sample's end is still text.
        if len(body) > _ENCODING_SAMPLE and error.start >= len(sample) - 3:
            return "utf-8"
        return "binary"
    return "utf-8"


def _describe_object(backend: Any, fake_key: Any) -> ObjectInfo:
    body = fake_key.value
    encoding = classify_encoding(body)
    preview = body[: _PREVIEW_CHARS * 4].decode("utf-8", "replace")[:_PREVIEW_CHARS] if encoding == "utf-8" else ""
    tags = {t["Key"]: t["Value"] for t in backend.get_object_tagging(fake_key)["Tags"]}
    return ObjectInfo(size=fake_key.size, tags=tags, encoding=encoding, preview=preview)


def snapshot_s3() -> State:
    """The whole S3 state of this moto process: bucket -> key -> object."""
    return moto_internals.snapshot_s3(_describe_object)


def diff_states(before: State, after: State) -> list[Change]:
    changes: list[Change] = []
    for bucket in after.keys() - before.keys():
        changes.append(Change(bucket=bucket, created=True))
    for bucket, objects in after.items():
        old = before.get(bucket, {})
        for key, obj in objects.items():
            if old.get(key) != obj:
                changes.append(Change(bucket=bucket, key=key, obj=obj))
        for key in old.keys() - objects.keys():
            changes.append(Change(bucket=bucket, key=key))
    for bucket in before.keys() - after.keys():
        changes.extend(Change(bucket=bucket, key=key) for key in before[bucket])
        changes.append(Change(bucket=bucket))
    return changes


def parse_tag_header(value: str) -> dict[str, str]:
    return dict(parse_qsl(value, keep_blank_values=True))


def parse_tagging_xml(body: bytes) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {}
    tags = {}
    for tag in root.iter():
        if tag.tag.endswith("Tag"):
            key = next((c.text or "" for c in tag if c.tag.endswith("Key")), None)
            value = next((c.text or "" for c in tag if c.tag.endswith("Value")), "")
            if key is not None:
                tags[key] = value
    return tags


def create_bucket_params(authorization: str, body: bytes) -> dict[str, str]:
    """The signing region and the LocationConstraint: what real S3 judges a CreateBucket's region by.

    The sandbox's endpoint is 127.0.0.1, so the region the script's client was made
    for shows only in its signature's credential scope.
    """
    params = {}
    if region := _SIGNING_REGION.search(authorization):
        params["region"] = region.group(1)[:_PARAM_CHARS]
    if constraint := _LOCATION_CONSTRAINT.search(body):
        params["location_constraint"] = constraint.group(1).decode("utf-8", "replace")[:_PARAM_CHARS]
    return params


def _error_code(body: bytes) -> str | None:
    match = re.search(rb"<Code>([^<]{1,100})</Code>", body)
    return match.group(1).decode("utf-8", "replace") if match else None


class RecordingMiddleware:
    def __init__(
        self,
        app: Callable,
        record_file: IO[str],
        max_calls: int = DEFAULT_RECORDED_CALLS,
        stdout_probe: Callable[[], int | None] = lambda: None,
    ):
        self.stdout_probe = stdout_probe
        self.max_calls = max_calls
        self.app = app
        self.record_file = record_file
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.seq = 0
        self.dropped = 0
        self.state: State = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api"):
            return self._refuse_moto_api(environ, start_response)
        with self.lock:
            environ["labgrader.stdout_before"] = self.stdout_probe()
            return self._record_call(environ, start_response)

    def _refuse_moto_api(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        body = (
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
            b"<Message>The mock's control API is not available to submissions.</Message></Error>"
        )
        with self.lock:
            self._write(self._call_entry(environ, "MotoApi", None, None, 403, "AccessDenied", {}, []))
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

    def _refuse_service(self, environ: dict[str, Any], start_response: Callable, service: str) -> list[bytes]:
        # Refused before moto dispatched it: no backend of that service ever ran.
        message = f"This lab's mock does not serve {service[:60]}: only the AWS services the assignment declares."
        if environ.get("HTTP_X_AMZ_TARGET") or "json" in environ.get("CONTENT_TYPE", ""):
            body, content_type = (
                json.dumps({"__type": "ServiceNotServed", "message": message}).encode(),
                "application/json",
            )
        else:
            # The query protocols' envelope; boto3's S3 (rest-xml) parser reads it too.
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>ServiceNotServed</Code><Message>{escape(message)}</Message></Error></ErrorResponse>"
            ).encode()
            content_type = "application/xml"
        params = {"service": service[:100]}
        self._write(self._call_entry(environ, "RefusedService", None, None, 403, "ServiceNotServed", params, []))
        start_response("403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def _record_call(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        is_s3 = bool(_S3_CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "")))
        bucket, key = split_bucket_key(environ.get("HTTP_HOST", ""), environ.get("PATH_INFO", ""))
        headers = {h: environ.get("HTTP_" + h.upper().replace("-", "_"), "") for h in _HEADERS_KEPT}
        headers = {h: v for h, v in headers.items() if v}
        operation = operation_name(method, bucket, key, environ.get("QUERY_STRING", ""), headers) if is_s3 else "NonS3"
        params = self._params(environ, operation, headers)

        status_box: list[int] = []

        def capture_status(status: str, response_headers: list, exc_info: Any = None) -> Callable:
            status_box.append(int(status.split()[0]))
            return start_response(status, response_headers, exc_info)

        try:
            response = self.app(environ, capture_status)
        except ServiceRefused as refused:
            return self._refuse_service(environ, start_response, refused.service)
        status = status_box[0] if status_box else 500
        error_code = None
        if status >= 300:
            # Error bodies are small; buffer them to read the S3 error code.
            response = [b"".join(response)]
            error_code = _error_code(response[0])
        changes = self._changes() if method in MUTATING_METHODS and status < 300 else []
        # Before the answer leaves: whatever the script prints from here on came after it.
        environ["labgrader.stdout_after"] = self.stdout_probe()
        self._write(self._call_entry(environ, operation, bucket, key, status, error_code, params, changes))
        return response

    def _params(self, environ: dict[str, Any], operation: str, headers: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if "x-amz-tagging" in headers:
            params["tagging_raw"] = headers["x-amz-tagging"]
            params["tagging"] = parse_tag_header(headers["x-amz-tagging"])
        if "x-amz-copy-source" in headers:
            params["copy_source"] = headers["x-amz-copy-source"]
        size = environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH")
        if size and size.isdigit() and operation in ("PutObject", "UploadPart"):
            params["body_size"] = int(size)
        if operation == "PutObjectTagging":
            body = self._peek_body(environ)
            params["tagging"] = parse_tagging_xml(body)
        if operation == "CreateBucket":
            params.update(create_bucket_params(environ.get("HTTP_AUTHORIZATION", ""), self._peek_body(environ)))
        return params

    @staticmethod
    def _peek_body(environ: dict[str, Any]) -> bytes:
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > _SMALL_BODY:
            return b""
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def _changes(self) -> list[Change]:
        if self.seq >= self.max_calls:
            return []
        after = snapshot_s3()
        changes = diff_states(self.state, after)
        self.state = after
        return changes

    def _call_entry(
        self, environ, operation, bucket, key, status, error_code, params, changes
    ) -> dict[str, Any] | None:
        self.seq += 1
        if self.seq > self.max_calls:
            self.dropped += 1
            return None
        return {
            "seq": self.seq,
            "t": round(time.monotonic() - self.started, 4),
            "operation": operation,
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", "")[:1024],
            "query": environ.get("QUERY_STRING", "")[:1024],
            "bucket": bucket,
            "key": key,
            "status": status,
            "error_code": error_code,
            "params": params,
            "changes": [_change_dict(c) for c in changes],
            # Bytes of stdout the script had written when the call arrived and when it was
            # answered; the runner turns them into places in the stored stdout text.
            "stdout_before": environ.get("labgrader.stdout_before"),
            "stdout_after": environ.get("labgrader.stdout_after"),
        }

    def _write(self, entry: dict[str, Any] | None) -> None:
        if entry is not None:
            self.record_file.write(json.dumps(entry) + "\n")
            self.record_file.flush()

    def finish(self) -> None:
        """Write the trailer: the exact final state and how many calls were dropped."""
        with self.lock:
            final = {b: {k: vars(o) for k, o in objs.items()} for b, objs in snapshot_s3().items()}
            self.record_file.write(json.dumps({"final_state": final, "calls_dropped": self.dropped}) + "\n")
            self.record_file.flush()


def _change_dict(change: Change) -> dict[str, Any]:
    data: dict[str, Any] = {"bucket": change.bucket}
    if change.key is not None:
        data["key"] = change.key
    if change.created:
        data["created"] = True
    if change.obj is not None:
        data["obj"] = vars(change.obj)
    return data
