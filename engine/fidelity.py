"""Calls moto accepted that real S3 refuses, each marked with why and the error code.

moto is more lenient than AWS: it creates `Intern_Content_alice`, which S3
answers with InvalidBucketName, so a script that scores full marks here fails
on AWS. Each rule below is a refusal moto was seen to skip (moto 5.2.5, checked
by running it); where moto already refuses like AWS, nothing is needed here.
The rules, with their error codes, are listed in docs/engine.md ("AWS fidelity").

Pure functions over the recorded calls: the runner marks the calls it reads, and
RunRecord.from_dict marks again on loading, so a record stored before a rule
existed is judged and shown by the current rules.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.record import Call

_ALLOWED = re.compile(r"[a-z0-9.-]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
# AWS's general purpose bucket naming rules (Amazon S3 User Guide, "General purpose bucket naming rules").
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

# Every LocationConstraint S3 accepts somewhere: botocore's BucketLocationConstraint
# (tests/unit/engine/test_fidelity.py fails when a botocore upgrade adds one).
KNOWN_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "cn-north-1",
        "cn-northwest-1", "EU", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
        "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
        "sa-east-1", "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-west-1", "us-west-2",
    }
)  # fmt: skip
# boto3 sends a us-east-1 client's requests to the global endpoint s3.amazonaws.com.
# It creates buckets in the standard regions launched before 20 March 2019; regions
# launched since (opt-in) and other partitions need their own endpoint.
GLOBAL_ENDPOINT_REGIONS = frozenset(
    {
        "EU", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
        "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
        "sa-east-1", "us-east-2", "us-west-1", "us-west-2",
    }
)  # fmt: skip
GLOBAL_ENDPOINT_CLIENT_REGION = "us-east-1"


def annotate(calls: list[Call]) -> list[Call]:
    """The calls, each with aws_would_refuse set by the current rules (None: S3 would accept it too)."""
    marked = []
    for call in calls:
        reason = refusal(call)
        marked.append(call if reason == call.aws_would_refuse else dataclasses.replace(call, aws_would_refuse=reason))
    return marked


def refusal(call: Call) -> str | None:
    """Why real S3 would refuse a call moto accepted, in one sentence with the error code."""
    if call.operation != "CreateBucket" or not call.ok or not call.bucket:
        return None
    if problems := bucket_name_problems(call.bucket):
        return _sentence(f"the bucket name {call.bucket}", _join(problems), "InvalidBucketName")
    return _location_refusal(call.params.get("region"), call.params.get("location_constraint"))


def bucket_name_problems(name: str) -> list[str]:
    """What breaks S3's naming rules, in words a student can act on ([] for a valid name)."""
    problems = []
    if len(name) < 3:
        problems.append("fewer than 3 characters")
    if len(name) > 63:
        problems.append("more than 63 characters")
    if any(c.isupper() for c in name):
        problems.append("upper-case letters")
    if "_" in name:
        problems.append("underscores")
    others = list(dict.fromkeys(c for c in name if not _ALLOWED.fullmatch(c) and not c.isupper() and c != "_"))
    if others:
        problems.append(f"characters other than a-z, 0-9, '.' and '-' ({', '.join(map(repr, others))})")
    if problems:
        return problems  # the character rules are what the student must fix first
    if not name[0].isalnum():
        problems.append("does not start with a letter or digit")
    if not name[-1].isalnum():
        problems.append("does not end with a letter or digit")
    if ".." in name:
        problems.append("two adjacent dots")
    if _IP_ADDRESS.fullmatch(name):
        problems.append("formatted as an IP address")
    problems += [f"the reserved prefix {p}" for p in RESERVED_PREFIXES if name.startswith(p)]
    problems += [f"the reserved suffix {s}" for s in RESERVED_SUFFIXES if name.endswith(s)]
    return problems


def _location_refusal(region: str | None, constraint: str | None) -> str | None:
    # moto already refuses what a regional endpoint refuses (a constraint other than
    # its region, or none); what it lets through is a us-east-1 client's constraint.
    if not constraint:
        return None
    if constraint not in KNOWN_REGIONS and constraint != region:
        # (A client whose own region is no region at all fails to connect, not with an S3 code: not marked.)
        return _sentence(f"the LocationConstraint {constraint}", "not an S3 region", "InvalidLocationConstraint")
    if region == GLOBAL_ENDPOINT_CLIENT_REGION and constraint not in GLOBAL_ENDPOINT_REGIONS:
        return _sentence(
            f"the LocationConstraint {constraint} from a us-east-1 client",
            f"the global endpoint s3.amazonaws.com cannot create buckets there; pass region_name='{constraint}'",
            "IllegalLocationConstraintException",
        )
    return None


def _sentence(what: str, why: str, code: str) -> str:
    return f"Real S3 refuses {what} ({why}): CreateBucket would fail with {code}."


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
