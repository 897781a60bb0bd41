"""The checks count a listing or a tag read only when the recorder confirmed it from moto's answer."""

from tests.labs import lab06
from tests.records import ScriptRun, uploads_three

audit_output, three_objects = lab06("audit_output"), lab06("three_objects")

ACCELERATE_ANSWER = {"named": "ListObjects", "root": "GetBucketAccelerateConfigurationResponse"}


def test_an_unconfirmed_answer_and_a_refused_request_are_neither_a_listing_nor_a_tag_read():
    run = uploads_three()
    run._call("Unconfirmed", "GET", "lab-alice", params=ACCELERATE_ANSWER)
    run._call("RefusedRequest", "GET", "lab-alice", "a.txt", status=403, error_code="AmbiguousRequest")
    run.prints("a.txt: 11 bytes\nb.txt: 17 bytes\nc.txt: 23 bytes\nProject = Intern-Labs")
    verdict = audit_output.check(run.record())
    assert not verdict.passed
    assert "never listed through S3" in verdict.feedback
    assert "The tags of a.txt were never read" in verdict.feedback


def test_a_script_whose_every_request_was_refused_made_no_s3_call():
    run = ScriptRun()
    run._call("RefusedRequest", "GET", "lab-alice", "a.txt", status=403, error_code="AmbiguousRequest")
    assert "made no S3 call at all" in three_objects.check(run.record()).feedback
