"""WSGI middleware around moto's app, in the moto process: records each call.

The script cannot reach this file or the record it writes, so the record is
evidence the script cannot forge. `/moto-api/*` (reset, state dumps) is refused:
a script must not be able to erase the evidence of a failed cleanup.

S3 calls are named by engine/s3ops.py and their state read by snapshot_s3; a
call to any other service the lab declares is named from botocore's model
(engine/botocore_ops.py) and its state changes come from the service's state
probe (engine/probes.py), if it has one.

Nothing a script does may stop the recording: a call the recorder fails on
is recorded with `params.record_error`, and moto failing on a request is answered
500 and recorded with `params.mock_error`. Every recorded string is capped
(engine/caps.py) and so is the record itself (max_bytes), so a script cannot make
the record, or the grader reading it, explode.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, NamedTuple
from urllib.parse import parse_qsl
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from engine import botocore_ops, moto_internals, probes
from engine.caps import MAX_ITEMS, cap_json, cap_name, cap_text
from engine.moto_internals import ServiceRefused, StoredObject
from engine.record import Change, ObjectInfo, ServiceChange, ServiceState
from engine.s3ops import (
    MUTATING_METHODS,
    Unnameable,
    confirm_operation,
    needs_confirmation,
    operation_name,
    split_bucket_key,
)

# Past this many calls (Limits.recorded_calls), a call is counted but not
# detailed: tens of thousands of calls must not make the record (or its diffing) explode.
DEFAULT_RECORDED_CALLS = 5000
# The record file's size (Limits.mock_record_mib). Calls fill it up to three quarters;
# the rest is the trailer's, so that the final state always fits.
DEFAULT_RECORD_BYTES = 32 << 20
_TRAILER_SHARE = 4
_MAX_ITEMS = MAX_ITEMS  # tags of an object, entries of a parameter (S3 allows 10 tags)
# Encoding is judged on the head of a body; lab files are a few bytes.
_ENCODING_SAMPLE = moto_internals.HEAD_BYTES
_PREVIEW_CHARS = 200
_SMALL_BODY = 64 * 1024
_HEADERS_KEPT = ("x-amz-tagging", "x-amz-copy-source", "x-amz-tagging-directive", "content-type")
_S3_CREDENTIAL = re.compile(r"Credential=[^/]*/[^/]*/[^/]*/s3/")
_SIGNED_SERVICE = re.compile(r"Credential=[^/]*/[^/]*/[^/]*/([^/]{1,100})/")
_SIGNING_REGION = re.compile(r"Credential=[^/]*/[^/]*/([^/]*)/s3/")
_LOCATION_CONSTRAINT = re.compile(rb"<LocationConstraint>([^<]*)</LocationConstraint>")
_PARAM_CHARS = 64  # a region name is ~15; a script must not bloat the record through them

State = dict[str, dict[str, ObjectInfo]]


def classify_encoding(body: bytes, size: int | None = None) -> str:
    """body: the object's body, or its head when size (the whole body's) is given."""
    sample = body[:_ENCODING_SAMPLE]
    size = len(body) if size is None else size
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sample's end is still text.
        if size > len(sample) and error.start >= len(sample) - 3:
            return "utf-8"
        return "binary"
    return "utf-8"


def _describe_object(stored: StoredObject) -> ObjectInfo:
    """What the record keeps of an object. A body moto cannot give back is "unknown", not a crash."""
    tags = cap_mapping(stored.tags)
    if stored.head is None:
        return ObjectInfo(size=stored.size, tags=tags, encoding="unknown")
    encoding = classify_encoding(stored.head, stored.size)
    head = stored.head[: _PREVIEW_CHARS * 4]
    preview = head.decode("utf-8", "replace")[:_PREVIEW_CHARS] if encoding == "utf-8" else ""
    return ObjectInfo(size=stored.size, tags=tags, encoding=encoding, preview=cap_text(preview))


def snapshot_s3() -> State:
    """The whole S3 state of this moto process: bucket -> key -> object."""
    return {
        cap_name(bucket): {cap_name(key): _describe_object(stored) for key, stored in objects.items()}
        for bucket, objects in moto_internals.stored_objects().items()
    }


def cap_mapping(mapping: dict[str, Any]) -> dict[str, str]:
    """At most _MAX_ITEMS entries, each key and value capped."""
    return {cap_text(str(k)): cap_text(str(v)) for k, v in list(mapping.items())[:_MAX_ITEMS]}


def cap_params(params: dict[str, Any]) -> dict[str, Any]:
    capped: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict):
            capped[name] = cap_mapping(value)
            if len(value) > _MAX_ITEMS:
                capped[f"{name}_cut"] = len(value) - _MAX_ITEMS
        elif isinstance(value, list | tuple):
            capped[name] = [cap_text(str(item)) for item in value[:_MAX_ITEMS]]
        elif isinstance(value, str):
            capped[name] = cap_text(value)
        else:
            capped[name] = value
    return capped


def request_path(environ: dict[str, Any]) -> str:
    """The path as werkzeug decoded it for moto: %-escapes resolved, read as UTF-8."""
    return environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")


def describe_error(error: BaseException) -> str:
    return cap_text(f"{type(error).__name__}: {error}", 300)


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


class _Call(NamedTuple):
    """A request as named before moto answers it."""

    operation: str
    bucket: str | None
    key: str | None
    params: dict[str, Any]
    # Any other service's call (engine/botocore_ops.py): the resources it names, and the
    # parameters its state probe may read (None: the request could not be read).
    service: str = "s3"
    resources: dict[str, str] | None = None
    request: dict[str, Any] | None = None


def _placed(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """The bucket and key, where the request has any that S3 would recognise."""
    try:
        return split_bucket_key(environ.get("HTTP_HOST", ""), request_path(environ))
    except Unnameable:
        return None, None


class RecordingMiddleware:
    def __init__(
        self,
        app: Callable,
        record_file: IO[str],
        max_calls: int = DEFAULT_RECORDED_CALLS,
        stdout_probe: Callable[[], int | None] = lambda: None,
        max_bytes: int = DEFAULT_RECORD_BYTES,
    ):
        self.stdout_probe = stdout_probe
        self.max_calls = max_calls
        self.max_bytes = max_bytes
        self.call_bytes = max_bytes - max_bytes // _TRAILER_SHARE
        self.written = 0  # bytes of the record so far
        self.full = False  # past call_bytes: every later call is counted, not detailed
        self.app = app
        self.record_file = record_file
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.seq = 0
        self.dropped = 0
        self.state: State = {}
        self.services = probes.ServiceStates()

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
        try:
            call = self._name_call(environ)
        except Unnameable as refusal:
            return self._refuse_request(environ, start_response, refusal)
        except Exception as error:  # noqa: BLE001 - serve it anyway; the record says it could not name it
            call = _Call("Unconfirmed", None, None, {"record_error": describe_error(error)})

        status_box: list[int] = []
        headers_box: list[tuple[str, str]] = []

        def capture_status(status: str, response_headers: list, exc_info: Any = None) -> Callable:
            status_box.append(int(status.split()[0]))
            headers_box.extend(response_headers)
            return start_response(status, response_headers, exc_info)

        try:
            response = self.app(environ, capture_status)
            status = status_box[0] if status_box else 500
            body = None
            if status >= 300 or (call.service == "s3" and needs_confirmation(call.operation)):
                # Error bodies are small, and so are the XML answers that confirm a name.
                response = [b"".join(response)]
                body = response[0]
        except ServiceRefused as refused:
            return self._refuse_service(environ, start_response, refused.service)
        except Exception as error:  # noqa: BLE001 - moto failed on this request: a 500 for it, the run goes on
            return self._answer_mock_failure(environ, start_response, call, error)
        if call.service != "s3":
            self._record_service_call(environ, call, status, body, headers_box)
        else:
            self._record(environ, call, status, body)
        return response

    def _name_call(self, environ: dict[str, Any]) -> _Call:
        """What the request is, before moto sees it; raises Unnameable for a request that must be refused."""
        service = self._service(environ)
        if service != "s3":
            return self._name_service_call(environ, service)
        method = environ.get("REQUEST_METHOD", "GET")
        headers = {h: environ.get("HTTP_" + h.upper().replace("-", "_"), "") for h in _HEADERS_KEPT}
        headers = {h: v for h, v in headers.items() if v}
        bucket, key = split_bucket_key(environ.get("HTTP_HOST", ""), request_path(environ))
        operation = operation_name(method, bucket, key, environ.get("QUERY_STRING", ""), headers)
        return _Call(operation, bucket, key, self._params(environ, operation, headers))

    def _service(self, environ: dict[str, Any]) -> str:
        # The gate decides which backend serves a request; ask it rather than guess.
        service = moto_internals.service_of(self.app, environ)
        if service is not None:
            return service
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        if _S3_CREDENTIAL.search(authorization):
            return "s3"
        signed = _SIGNED_SERVICE.search(authorization)
        return signed.group(1) if signed else "unknown"

    def _name_service_call(self, environ: dict[str, Any], service: str) -> _Call:
        served = moto_internals.served_services(self.app)
        if served is not None and service not in served:
            return _Call(botocore_ops.UNKNOWN, None, None, {}, service)  # the gate refuses it: no model to load
        length = environ.get("CONTENT_LENGTH") or "0"
        body = self._peek_body(environ) if not length.isdigit() or int(length) <= _SMALL_BODY else None
        try:
            named = botocore_ops.name_request(service, environ, body)
        except Exception as error:  # noqa: BLE001 - serve it anyway; the record says it could not name it
            return _Call(botocore_ops.UNKNOWN, None, None, {"record_error": describe_error(error)}, service)
        return _Call(named.operation, None, None, named.params, service, named.resources, named.request)

    def _record_service_call(
        self, environ: dict[str, Any], call: _Call, status: int, body: bytes | None, headers: list
    ) -> None:
        """Write the entry of a call to any other service than S3; never raises, like _record."""
        params = dict(call.params)
        try:
            error_code = botocore_ops.error_code(body, headers) if body is not None and status >= 300 else None
            changes = self._changes_or_error(environ, params)  # another service may write to S3
            service = self._service_fields(call, self._service_changes_or_error(call, params))
            environ["labgrader.stdout_after"] = self.stdout_probe()
            entry = self._call_entry(environ, call.operation, None, None, status, error_code, params, changes, service)
            self._write(entry)
        except Exception as error:  # noqa: BLE001 - one call recorded badly must not end the mock
            params = {"record_error": describe_error(error)}
            service = self._service_fields(call, [])
            self._write(self._call_entry(environ, call.operation, None, None, status, None, params, [], service))

    def _service_changes_or_error(self, call: _Call, params: dict[str, Any]) -> list[ServiceChange]:
        # Whatever its status: a failed batch may have written part of it.
        if self.seq >= self.max_calls or self.full or not probes.may_change_state(call.operation):
            return []  # past the caps the call will only be counted
        try:
            return self.services.changes(call.service, call.request)
        except Exception as error:  # noqa: BLE001 - the next call's probe reads everything again
            params["record_error"] = describe_error(error)
            return []

    @staticmethod
    def _service_fields(call: _Call, changes: list[ServiceChange]) -> dict[str, Any]:
        return {
            "service": cap_text(call.service, 100),
            "resources": {cap_text(k): cap_name(v) for k, v in (call.resources or {}).items()},
            "service_changes": [_service_change_dict(c) for c in changes],
        }

    def _record(self, environ: dict[str, Any], call: _Call, status: int, body: bytes | None) -> None:
        """Write the call's entry. Whatever goes wrong here is recorded in the entry, never raised."""
        try:
            operation, confirmation = confirm_operation(call.operation, status, call.bucket, body or b"")
            params = {**call.params, **confirmation}
            error_code = _error_code(body) if body is not None and status >= 300 else None
            changes = self._changes_or_error(environ, params)
            # Before the answer leaves: whatever the script prints from here on came after it.
            environ["labgrader.stdout_after"] = self.stdout_probe()
            entry = self._call_entry(environ, operation, call.bucket, call.key, status, error_code, params, changes)
            self._write(entry)
        except Exception as error:  # noqa: BLE001 - one call recorded badly must not end the mock
            params = {"record_error": describe_error(error)}
            self._write(self._call_entry(environ, call.operation, call.bucket, call.key, status, None, params, []))

    def _changes_or_error(self, environ: dict[str, Any], params: dict[str, Any]) -> list[Change]:
        # Any method that may write, whatever its status: an error can come after a change.
        if environ.get("REQUEST_METHOD", "GET") not in MUTATING_METHODS:
            return []
        try:
            return self._changes()
        except Exception as error:  # noqa: BLE001 - the next snapshot's diff carries what this one missed
            params["record_error"] = describe_error(error)
            return []

    def _refuse_request(self, environ: dict[str, Any], start_response: Callable, refusal: Unnameable) -> list[bytes]:
        # Refused before moto saw it: the record never names an operation moto did not execute.
        message = f"{refusal.reason}. The grader's mock serves only requests it can name exactly."
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error>"
            f"<Code>{refusal.code}</Code><Message>{escape(message)}</Message></Error>"
        ).encode()
        bucket, key = _placed(environ)
        params = {"reason": refusal.reason, "subresources": list(refusal.subresources)}
        environ["labgrader.stdout_after"] = self.stdout_probe()
        self._write(self._call_entry(environ, "RefusedRequest", bucket, key, 403, refusal.code, params, []))
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

    def _answer_mock_failure(
        self, environ: dict[str, Any], start_response: Callable, call: _Call, error: Exception
    ) -> list[bytes]:
        body = (
            b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code>"
            b"<Message>The mock failed on this request.</Message></Error>"
        )
        content_type = "application/xml"
        if call.service != "s3" and environ.get("HTTP_X_AMZ_TARGET"):
            body = json.dumps({"__type": "InternalError", "message": "The mock failed on this request."}).encode()
            content_type = "application/x-amz-json-1.0"
        params = {**call.params, "mock_error": describe_error(error)}
        try:
            changes = self._changes_or_error(environ, params)
            service = None
            if call.service != "s3":
                service = self._service_fields(call, self._service_changes_or_error(call, params))
            environ["labgrader.stdout_after"] = self.stdout_probe()
            operation, bucket, key = call.operation, call.bucket, call.key
            entry = self._call_entry(environ, operation, bucket, key, 500, "InternalError", params, changes, service)
            self._write(entry)
        except Exception as record_error:  # noqa: BLE001 - the answer still goes out
            params["record_error"] = describe_error(record_error)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        start_response("500 Internal Server Error", headers, sys.exc_info())
        return [body]

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
        if self.seq >= self.max_calls or self.full:
            return []  # the call will only be counted
        after = snapshot_s3()
        changes = diff_states(self.state, after)
        self.state = after
        return changes

    def _call_entry(
        self, environ, operation, bucket, key, status, error_code, params, changes, service=None
    ) -> dict[str, Any] | None:
        """service: the fields of a call to another service than S3 (_service_fields); S3's entries have none."""
        self.seq += 1
        if self.seq > self.max_calls:
            self.dropped += 1
            return None
        entry = {
            "seq": self.seq,
            "t": round(time.monotonic() - self.started, 4),
            "operation": operation,
            "method": environ.get("REQUEST_METHOD", ""),
            "path": cap_text(request_path(environ)),
            "query": cap_text(environ.get("QUERY_STRING", "")),
            "bucket": cap_name(bucket),
            "key": cap_name(key),
            "status": status,
            "error_code": cap_text(error_code) if error_code else error_code,
            "params": cap_params(params) if service is None else cap_json(params),
            "changes": [_change_dict(c) for c in changes],
            # Bytes of stdout the script had written when the call arrived and when it was
            # answered; the runner turns them into places in the stored stdout text.
            "stdout_before": environ.get("labgrader.stdout_before"),
            "stdout_after": environ.get("labgrader.stdout_after"),
        }
        if service is not None:
            entry.update(service)
        return entry

    def _write(self, entry: dict[str, Any] | None) -> None:
        if entry is None:
            return
        line = json.dumps(entry) + "\n"
        if self.full or self.written + len(line) > self.call_bytes:
            # Past the record's budget a call is counted, not detailed, as past max_calls.
            self.full = True
            self.dropped += 1
            return
        try:
            self.record_file.write(line)
            self.record_file.flush()
        except OSError:  # the disk refused (EFBIG, ENOSPC): later calls are only counted
            self.full = True
            self.dropped += 1
            return
        self.written += len(line)

    def finish(self) -> None:
        """Write the trailer: the exact final state (S3's and each probed service's), how many calls were dropped."""
        with self.lock:
            trailer: dict[str, Any] = {"calls_dropped": self.dropped}
            try:
                final = snapshot_s3()
            except Exception as error:  # noqa: BLE001 - a trailer with the last state seen beats none
                final, trailer["record_error"] = self.state, describe_error(error)
            services = self._final_services(trailer)
            # An S3 lab's trailer has no final_services at all, exactly as before other services were recorded.
            others = {"final_services": services} if services else {}
            line = json.dumps({"final_state": _plain_state(final), **others, **trailer}) + "\n"
            if self.written + len(line) > self.max_bytes:
                # Thousands of objects: the previews go first, the keys, sizes and tags stay exact.
                line = json.dumps({"final_state": _plain_state(final, previews=False), **others, **trailer}) + "\n"
            if self.written + len(line) > self.max_bytes and services:
                # Then the services' entries: each resource still says how many it held.
                others = {"final_services": _without_entries(services)}
                line = json.dumps({"final_state": _plain_state(final, previews=False), **others, **trailer}) + "\n"
            self.record_file.write(line)
            self.record_file.flush()

    def _final_services(self, trailer: dict[str, Any]) -> ServiceState:
        served = moto_internals.served_services(self.app)
        services = set(served) if served is not None else set(self.services.states)
        final: ServiceState = {}
        for service in sorted(services):  # one probe failing costs only its own service's exactness
            try:
                final.update(self.services.final({service}))
            except Exception as error:  # noqa: BLE001 - the state as last recorded beats none
                trailer.setdefault("record_error", describe_error(error))
                if service in self.services.states:
                    final[service] = self.services.states[service]
        return final


def _plain_state(state: State, previews: bool = True) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        bucket: {key: {**vars(obj), **({} if previews else {"preview": ""})} for key, obj in objects.items()}
        for bucket, objects in state.items()
    }


def _without_entries(services: ServiceState) -> ServiceState:
    def bare(held: dict[str, Any]) -> dict[str, Any]:
        cut = held["resource"].get("entries_cut", 0) + len(held["entries"])
        return {"resource": {**held["resource"], "entries_cut": cut}, "entries": {}}

    return {service: {name: bare(held) for name, held in state.items()} for service, state in services.items()}


def _service_change_dict(change: ServiceChange) -> dict[str, Any]:
    data: dict[str, Any] = {"resource": change.resource}
    if change.entry is not None:
        data["entry"] = change.entry
    if change.value is not None:
        data["value"] = change.value
    return data


def _change_dict(change: Change) -> dict[str, Any]:
    data: dict[str, Any] = {"bucket": change.bucket}
    if change.key is not None:
        data["key"] = change.key
    if change.created:
        data["created"] = True
    if change.obj is not None:
        data["obj"] = vars(change.obj)
    return data
