"""Names an S3 REST request the way boto3 and the AWS docs do (PutObject, ...), and
checks the name against the answer moto gave.

moto knows the operation internally but does not expose it to a WSGI middleware,
so the recorder names a request from its host, method, path and subresource. A
name decides points (a listing, a tag read), so it must be the operation moto
executed, never a guess:
- a request the recorder cannot name the way moto will dispatch it (several
  subresources, a subresource moto does not serve for that method, a host moto
  places differently) raises Unnameable, and the recorder refuses it before moto
  sees it;
- a name whose answer is an XML document is kept only if moto's answer has the
  matching root (confirm_operation); otherwise the call is recorded as Unconfirmed.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qs
from xml.sax.saxutils import unescape

# Every subresource of the S3 REST API: a query parameter that selects the operation
# rather than parameterising it. versionId, list-type, prefix, max-keys, x-id, ... are
# parameters. tests/unit/engine/test_s3ops.py fails when botocore's model adds one.
SUBRESOURCES = frozenset(
    {
        "abac", "accelerate", "acl", "analytics", "annotation", "attributes", "cors", "delete", "encryption",
        "intelligent-tiering", "inventory", "legal-hold", "lifecycle", "location", "logging",
        "metadataAnnotationTable", "metadataConfiguration", "metadataInventoryTable", "metadataJournalTable",
        "metadataTable", "metrics", "notification", "object-lock", "ownershipControls", "partNumber", "policy",
        "policyStatus", "publicAccessBlock", "renameObject", "replication", "requestPayment", "restore",
        "retention", "select", "session", "tagging", "torrent", "uploadId", "uploads", "versioning", "versions",
        "website",
    }
)  # fmt: skip


class Unnameable(Exception):
    """A request the recorder cannot name as moto will execute it: it is refused, not guessed."""

    def __init__(self, code: str, reason: str, subresources: tuple[str, ...] = ()):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subresources = subresources


# --- which bucket and key: moto's placement (moto/s3/responses.py subdomain_based_buckets) ---

_PORT = r"(:\d{1,5})?"
# Path-style hosts: the bucket is the path's first segment.
_PATH_STYLE_HOSTS = (
    re.compile(rf"^localhost{_PORT}$"),
    re.compile(rf"^[A-Za-z0-9-]+{_PORT}$"),  # one label, such as a container's name
    re.compile(r"^s3\.amazonaws\.com$"),
    re.compile(rf"^s3[.-](dualstack[.-]|fips[.-])?[a-z0-9-]+\.amazonaws\.com{_PORT}$"),
)
# Virtual-hosted style: the bucket is in the host. A bucket label moto would read as
# path style (s3.…, localhost…) or strip (www.) is not accepted here.
_VIRTUAL_HOSTS = (
    re.compile(rf"^(?!www\.|s3[.-])(?P<bucket>[a-z0-9][a-z0-9.-]*)\.s3([.-][a-z0-9-]+)?\.amazonaws\.com{_PORT}$"),
    re.compile(rf"^(?!localhost|localstack)(?P<bucket>[a-z0-9][a-z0-9-]*)\.localhost{_PORT}$"),
)


def split_bucket_key(host: str, path: str) -> tuple[str | None, str | None]:
    """The bucket and key moto will act on. path: as the server decoded it (no %-escapes left)."""
    if _is_ip_host(host) or any(pattern.match(host) for pattern in _PATH_STYLE_HOSTS):
        if path.startswith("//"):
            raise Unnameable("UnsupportedRequest", "a path-style request whose path starts with //")
        bucket, _, key = path[1:].partition("/")
        return bucket or None, key or None
    for pattern in _VIRTUAL_HOSTS:
        if virtual := pattern.match(host):
            return virtual.group("bucket"), path[1:] or None
    raise Unnameable("UnsupportedRequest", f"the host {host[:100]!r} is not one this mock serves S3 on")


def _is_ip_host(host: str) -> bool:
    address = re.sub(r":\d{1,5}$", "", host)
    try:
        return ipaddress.ip_address(address).version == 4
    except ValueError:
        return False


# --- which operation: moto's dispatch (moto/s3/responses.py _bucket_response_*, _key_response_*) ---


def _crud(suffix: str, *methods: str) -> dict[str, str]:
    verbs = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
    return {method: verbs[method] + suffix for method in methods}


_ALL = ("GET", "PUT", "DELETE")
# subresource -> method -> operation, for a request on a bucket. A subresource or method
# left out is one moto does not serve: it would answer another operation in its place
# (GET ?requestPayment is answered with a listing, DELETE ?inventory deletes the bucket).
_BUCKET_OPERATIONS: dict[str | None, dict[str, str]] = {
    None: {"GET": "ListObjects", "PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}
    | {"POST": "PostObject"},
    "accelerate": _crud("BucketAccelerateConfiguration", "GET", "PUT"),
    "acl": _crud("BucketAcl", "GET", "PUT"),
    "cors": _crud("BucketCors", *_ALL),
    "delete": {"POST": "DeleteObjects"},
    "encryption": _crud("BucketEncryption", *_ALL),
    "inventory": {"GET": "ListBucketInventoryConfigurations", "PUT": "PutBucketInventoryConfiguration"},
    "lifecycle": _crud("BucketLifecycleConfiguration", "GET", "PUT") | {"DELETE": "DeleteBucketLifecycle"},
    "location": {"GET": "GetBucketLocation"},
    "logging": _crud("BucketLogging", "GET", "PUT"),
    "notification": _crud("BucketNotificationConfiguration", "GET", "PUT"),
    "object-lock": _crud("ObjectLockConfiguration", "GET", "PUT"),
    "ownershipControls": _crud("BucketOwnershipControls", *_ALL),
    "policy": _crud("BucketPolicy", *_ALL),
    "policyStatus": {"GET": "GetBucketPolicyStatus"},
    "publicAccessBlock": _crud("PublicAccessBlock", *_ALL),
    "replication": _crud("BucketReplication", *_ALL),
    "tagging": _crud("BucketTagging", *_ALL),
    "uploads": {"GET": "ListMultipartUploads"},
    "versioning": _crud("BucketVersioning", "GET", "PUT"),
    "versions": {"GET": "ListObjectVersions"},
    "website": _crud("BucketWebsite", *_ALL),
}
_OBJECT_OPERATIONS: dict[str | None, dict[str, str]] = {
    None: {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject", "HEAD": "HeadObject"},
    "acl": _crud("ObjectAcl", "GET", "PUT"),
    "attributes": {"GET": "GetObjectAttributes"},
    "legal-hold": _crud("ObjectLegalHold", "GET", "PUT"),
    "partNumber": {"GET": "GetObject", "HEAD": "HeadObject"},  # one part of a multipart object
    "restore": {"POST": "RestoreObject"},
    "retention": {"PUT": "PutObjectRetention"},
    "select": {"POST": "SelectObjectContent"},
    "tagging": _crud("ObjectTagging", *_ALL),
    "uploadId": {"GET": "ListParts", "POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"},
    "uploads": {"POST": "CreateMultipartUpload"},
}
# The one pair of subresources that names a single operation.
_UPLOAD_PART = frozenset({"partNumber", "uploadId"})
# moto treats these as absent when they carry no value (?uploadId= deletes the object).
_NEED_A_VALUE = frozenset({"partNumber", "uploadId"})


def operation_name(method: str, bucket: str | None, key: str | None, query: str, headers: dict[str, str]) -> str:
    """The operation moto will execute for this request; raises Unnameable when that is not certain."""
    q = parse_qs(query, keep_blank_values=True)
    present = tuple(sorted(name for name in q.keys() & SUBRESOURCES if q[name][0] or name not in _NEED_A_VALUE))
    if bucket is None:
        if method == "GET" and not present:
            return "ListBuckets"
        raise Unnameable("UnsupportedRequest", f"{method} on the service root is not served", present)
    if key is not None and method == "PUT" and frozenset(present) == _UPLOAD_PART:
        return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
    if len(present) > 1:
        names = ", ".join(present)
        raise Unnameable("AmbiguousRequest", f"several subresources in one request ({names})", present)
    subresource = present[0] if present else None
    table = _BUCKET_OPERATIONS if key is None else _OBJECT_OPERATIONS
    operation = table.get(subresource, {}).get(method)
    if operation is None:
        what = f"?{subresource}" if subresource else "without a subresource"
        target = "a bucket" if key is None else "an object"
        raise Unnameable("UnsupportedRequest", f"{method} {what} on {target} is not served by this mock", present)
    return _refine(operation, q, headers)


def _refine(operation: str, q: dict[str, list[str]], headers: dict[str, str]) -> str:
    """Operations moto tells apart by a parameter or a header rather than a subresource."""
    if operation == "ListObjects" and q.get("list-type", [""])[0] == "2":
        return "ListObjectsV2"
    if operation == "ListBucketInventoryConfigurations" and "id" in q:
        return "GetBucketInventoryConfiguration"
    if operation == "PutObject" and "x-amz-copy-source" in headers:
        return "CopyObject"
    return operation


# --- confirming the name from moto's answer ---

# Operations whose successful answer is an XML document, with the root S3 gives it.
# A root named after the operation (…Response, …Output, …Result, as moto's serializer
# writes some) confirms it too. Operations not listed answer with no document, or
# with the object's own bytes (GetObject), which prove nothing either way.
_ANSWER_ROOTS = {
    "ListBuckets": "ListAllMyBucketsResult",
    "ListObjects": "ListBucketResult",
    "ListObjectsV2": "ListBucketResult",
    "ListObjectVersions": "ListVersionsResult",
    "ListMultipartUploads": "ListMultipartUploadsResult",
    "ListParts": "ListPartsResult",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
    "GetBucketAcl": "AccessControlPolicy",
    "GetObjectAcl": "AccessControlPolicy",
    "GetBucketCors": "CORSConfiguration",
    "GetBucketEncryption": "ServerSideEncryptionConfiguration",
    "GetBucketInventoryConfiguration": "InventoryConfiguration",
    "ListBucketInventoryConfigurations": "ListInventoryConfigurationsResult",
    "GetBucketLifecycleConfiguration": "LifecycleConfiguration",
    "GetBucketLocation": "LocationConstraint",
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketOwnershipControls": "OwnershipControls",
    "GetBucketPolicyStatus": "PolicyStatus",
    "GetBucketReplication": "ReplicationConfiguration",
    "GetBucketTagging": "Tagging",
    "GetObjectTagging": "Tagging",
    "GetBucketVersioning": "VersioningConfiguration",
    "GetBucketWebsite": "WebsiteConfiguration",
    "GetObjectLockConfiguration": "ObjectLockConfiguration",
    "GetPublicAccessBlock": "PublicAccessBlockConfiguration",
    "GetObjectLegalHold": "LegalHold",
    "GetObjectAttributes": "GetObjectAttributesResponse",
    "CreateMultipartUpload": "InitiateMultipartUploadResult",
    "CompleteMultipartUpload": "CompleteMultipartUploadResult",
    "CopyObject": "CopyObjectResult",
    "UploadPartCopy": "CopyPartResult",
    "DeleteObjects": "DeleteResult",
}
# A listing also names the bucket it lists.
_LISTING_ROOTS = frozenset({"ListBucketResult", "ListVersionsResult"})
# The root is the first element after the XML declaration, comments and the like.
_ROOT = re.compile(rb"^\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<(?:[\w.-]+:)?([A-Za-z_][\w.-]*)", re.S)
_NAME = re.compile(rb"<Name>([^<]{0,255})</Name>")
ROOT_SAMPLE = 4096  # the head of an answer that holds its root


def needs_confirmation(operation: str) -> bool:
    """Whether the recorder must read this operation's successful answer to keep its name."""
    return operation in _ANSWER_ROOTS


def answer_root(body: bytes) -> str | None:
    match = _ROOT.match(body[:ROOT_SAMPLE].removeprefix(b"\xef\xbb\xbf"))
    return match.group(1).decode("ascii", "replace") if match else None


def confirm_operation(operation: str, status: int, bucket: str | None, body: bytes) -> tuple[str, dict[str, str]]:
    """The operation as moto's answer shows it, and what the record should say when it does not.

    An error answer keeps the name: it says what was asked and why S3 refused it.
    """
    if not 200 <= status < 300 or operation not in _ANSWER_ROOTS:
        return operation, {}
    root = answer_root(body)
    expected = {_ANSWER_ROOTS[operation]} | {operation + suffix for suffix in ("Response", "Output", "Result")}
    if root not in expected:
        return "Unconfirmed", {"named": operation, "root": root}
    if root in _LISTING_ROOTS:
        name = _NAME.search(body)  # the only <Name> element of a listing; keys in it are escaped
        listed = unescape(name.group(1).decode("utf-8", "replace")) if name else None
        if listed != bucket:
            return "Unconfirmed", {"named": operation, "root": root, "listed": listed}
    return operation, {}


MUTATING_METHODS = frozenset({"PUT", "POST", "DELETE"})
LISTING_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})
UPLOAD_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject", "PostObject"})
