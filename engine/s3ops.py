"""Names an S3 REST request the way boto3 and the AWS docs do (PutObject, ...).

moto knows the operation internally but does not expose it to a WSGI
middleware, and the S3 REST mapping is small and stable, so we derive it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote

# Hosts that carry no bucket name (path-style addressing).
_PATH_STYLE_HOST = re.compile(r"^(localhost|[\d.]+|\[[0-9a-f:]+\]|s3[.-].*amazonaws\.com|s3\.amazonaws\.com)$")
_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+?)\.(s3[.-].*amazonaws\.com|s3\.amazonaws\.com|localhost)$")


def split_bucket_key(host: str, path: str) -> tuple[str | None, str | None]:
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    path = unquote(path)
    virtual = _VIRTUAL_HOST.match(hostname) if not _PATH_STYLE_HOST.match(hostname) else None
    if virtual:
        bucket, key = virtual.group("bucket"), path.lstrip("/")
    else:
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0] or None
        key = parts[1] if len(parts) > 1 else ""
    return bucket, (key or None)


_BUCKET_SUBRESOURCES = {
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "policy": "BucketPolicy",
    "acl": "BucketAcl",
    "cors": "BucketCors",
    "lifecycle": "BucketLifecycleConfiguration",
    "encryption": "BucketEncryption",
    "website": "BucketWebsite",
    "notification": "BucketNotificationConfiguration",
    "logging": "BucketLogging",
    "ownershipControls": "BucketOwnershipControls",
    "publicAccessBlock": "PublicAccessBlock",
}
_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}


def operation_name(method: str, bucket: str | None, key: str | None, query: str, headers: dict[str, str]) -> str:
    q = parse_qs(query, keep_blank_values=True)
    if bucket is None:
        return "ListBuckets" if method == "GET" else f"{method} /"
    if key is None:
        return _bucket_operation(method, q)
    return _object_operation(method, q, headers)


def _bucket_operation(method: str, q: dict[str, list[str]]) -> str:
    if method == "POST" and "delete" in q:
        return "DeleteObjects"
    for name, suffix in _BUCKET_SUBRESOURCES.items():
        if name in q and method in _VERB:
            return _VERB[method] + suffix
    if method == "GET":
        if "location" in q:
            return "GetBucketLocation"
        if "versions" in q:
            return "ListObjectVersions"
        if "uploads" in q:
            return "ListMultipartUploads"
        return "ListObjectsV2" if q.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(method, f"{method} bucket")


def _object_operation(method: str, q: dict[str, list[str]], headers: dict[str, str]) -> str:
    if "tagging" in q and method in _VERB:
        return _VERB[method] + "ObjectTagging"
    if "acl" in q and method in _VERB:
        return _VERB[method] + "ObjectAcl"
    if method == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload"
        if "uploadId" in q:
            return "CompleteMultipartUpload"
        return "PostObject"
    if method == "PUT":
        if "partNumber" in q:
            return "UploadPartCopy" if "x-amz-copy-source" in headers else "UploadPart"
        return "CopyObject" if "x-amz-copy-source" in headers else "PutObject"
    if method == "GET":
        return "ListParts" if "uploadId" in q else "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    if method == "HEAD":
        return "HeadObject"
    return f"{method} object"


MUTATING_METHODS = frozenset({"PUT", "POST", "DELETE"})
LISTING_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})
UPLOAD_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject", "PostObject"})
