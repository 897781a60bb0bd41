"""moto accepts calls real S3 refuses: engine.fidelity marks them, with the reason and the error code."""

import botocore.session
import pytest

from engine import fidelity
from engine.record import Call, RunRecord
from tests.records import ScriptRun


def create(bucket, status=200, **params):
    return Call(
        seq=1, operation="CreateBucket", method="PUT", path=f"/{bucket}", status=status, bucket=bucket, params=params
    )


def refusal(bucket, **params):
    return fidelity.annotate([create(bucket, **params)])[0].aws_would_refuse


def test_the_lab_bucket_name_with_capitals_and_underscores_is_refused_with_the_specs_sentence():
    assert refusal("Intern_Content_alice") == (
        "Real S3 refuses the bucket name Intern_Content_alice (upper-case letters and underscores):"
        " CreateBucket would fail with InvalidBucketName."
    )


@pytest.mark.parametrize(
    "name,why",
    [
        ("Lab06-alice", "upper-case letters"),
        ("lab06_alice", "underscores"),
        ("lab06 alice!", "characters other than a-z, 0-9, '.' and '-' (' ', '!')"),
        ("-lab06-alice", "does not start with a letter or digit"),
        (".lab06-alice", "does not start with a letter or digit"),
        ("lab06-alice-", "does not end with a letter or digit"),
        ("lab06..alice", "two adjacent dots"),
        ("192.168.5.4", "formatted as an IP address"),
        ("xn--lab06-alice", "the reserved prefix xn--"),
        ("sthree-lab06", "the reserved prefix sthree-"),
        ("amzn-s3-demo-lab06", "the reserved prefix amzn-s3-demo-"),
        ("lab06-s3alias", "the reserved suffix -s3alias"),
        ("lab06--ol-s3", "the reserved suffix --ol-s3"),
        ("lab06.mrap", "the reserved suffix .mrap"),
        ("lab06--x-s3", "the reserved suffix --x-s3"),
        ("lab06--table-s3", "the reserved suffix --table-s3"),
        ("ab", "fewer than 3 characters"),
        ("a" * 64, "more than 63 characters"),
    ],
)
def test_each_naming_rule_refuses_with_invalid_bucket_name_and_says_which_rule(name, why):
    assert refusal(name) == (
        f"Real S3 refuses the bucket name {name} ({why}): CreateBucket would fail with InvalidBucketName."
    )


@pytest.mark.parametrize("name", ["lab06-alice", "abc", "a" * 63, "intern.content.alice", "1-2-3", "192.168.5.4a"])
def test_names_real_s3_accepts_are_not_marked(name):
    assert refusal(name) is None


def test_a_constraint_that_is_no_s3_region_is_refused_with_invalid_location_constraint():
    assert refusal("lab06-alice", region="us-east-1", location_constraint="eu-west-9") == (
        "Real S3 refuses the LocationConstraint eu-west-9 (not an S3 region):"
        " CreateBucket would fail with InvalidLocationConstraint."
    )
    assert "InvalidLocationConstraint" in refusal("lab06-alice", region="us-east-1", location_constraint="EU-WEST-1")


def test_a_us_east_1_client_cannot_create_a_bucket_in_a_region_launched_after_march_2019():
    # boto3 sends a us-east-1 client's CreateBucket to the global endpoint s3.amazonaws.com,
    # which creates buckets in the older regions only.
    assert refusal("lab06-alice", region="us-east-1", location_constraint="af-south-1") == (
        "Real S3 refuses the LocationConstraint af-south-1 from a us-east-1 client (the global endpoint"
        " s3.amazonaws.com cannot create buckets there; pass region_name='af-south-1'):"
        " CreateBucket would fail with IllegalLocationConstraintException."
    )


@pytest.mark.parametrize("region,constraint", [("us-east-1", "eu-west-1"), ("us-east-1", "EU"), ("us-east-1", None)])
def test_what_real_s3_accepts_from_the_global_endpoint_is_not_marked(region, constraint):
    # Verified against AWS by moto's own tests (test_create_bucket_in_regions_from_us_east_1).
    params = {"region": region} | ({"location_constraint": constraint} if constraint else {})
    assert refusal("lab06-alice", **params) is None


def test_an_opt_in_region_from_its_own_endpoint_is_not_marked():
    assert refusal("lab06-alice", region="af-south-1", location_constraint="af-south-1") is None


def test_only_calls_moto_accepted_are_marked():
    assert fidelity.annotate([create("Intern_Content_alice", status=409)])[0].aws_would_refuse is None


def test_other_operations_are_left_alone():
    put = Call(seq=2, operation="PutObject", method="PUT", path="/Bad_Name/k", status=200, bucket="Bad_Name", key="k")
    assert fidelity.annotate([put]) == [put]


def test_annotating_is_pure_and_idempotent():
    calls = [create("Intern_Content_alice")]
    once = fidelity.annotate(calls)
    assert calls[0].aws_would_refuse is None
    assert fidelity.annotate(once) == once


def test_a_record_stored_before_the_field_existed_loads_and_is_marked_on_loading():
    stored = ScriptRun().create_bucket("Intern_Content_alice").record().to_dict()
    for call in stored["calls"]:
        call.pop("aws_would_refuse", None)
    loaded = RunRecord.from_dict(stored)
    assert "InvalidBucketName" in loaded.calls[0].aws_would_refuse


def test_a_stored_record_without_the_region_is_judged_on_its_name_alone():
    assert refusal("lab06-alice", location_constraint="af-south-1") is None


def test_every_location_constraint_botocore_knows_is_a_region_here():
    # A botocore upgrade that adds a region fails this test until KNOWN_REGIONS has it:
    # otherwise a correct script using the new region would be marked as refused.
    enum = botocore.session.get_session().get_service_model("s3").shape_for("BucketLocationConstraint").enum
    assert set(enum) <= fidelity.KNOWN_REGIONS
