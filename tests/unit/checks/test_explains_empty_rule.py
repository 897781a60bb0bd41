import pytest

from checks.explains_empty_rule import check, prose_chunks
from tests.records import ScriptRun


@pytest.mark.parametrize(
    "source",
    [
        "# Deleting fails with BucketNotEmpty unless we empty it first\n",
        'def cleanup():\n    """A bucket must be empty before S3 lets you delete it."""\n',
        "# S3 will not delete a bucket\n# that still holds objects: it must be empty first.\n",
        "print('Cannot remove the bucket while it is not empty')\n",
        "x = 1  # bucketnotempty is the error code\n",
    ],
)
def test_it_accepts_an_explanation_in_a_comment_docstring_or_string(source):
    assert check(ScriptRun().source(source).record()).passed


@pytest.mark.parametrize(
    "source",
    [
        "import boto3\nbucket.delete()\n",
        "# delete the bucket\n# done\n",
        "# empty the bucket\n",
        "empty_bucket_and_delete = 1\n",
    ],
)
def test_it_rejects_sources_without_the_explanation(source):
    verdict = check(ScriptRun().source(source).record())
    assert not verdict.passed
    assert "non-empty bucket cannot be deleted" in verdict.feedback


def test_it_does_not_join_comments_separated_by_code():
    source = "# the bucket\nx = 1\n# must be empty before delete? no: this line alone names no bucket\n"
    chunks = prose_chunks(source)
    assert chunks[0].strip() == "the bucket"


def test_it_still_reads_comments_of_a_script_that_does_not_parse():
    source = "def broken(:\n    # S3 raises BucketNotEmpty on a full bucket\n"
    assert check(ScriptRun().source(source).record()).passed


def test_it_quotes_what_it_found():
    verdict = check(ScriptRun().source("# BucketNotEmpty: objects first\n").record())
    assert "main.py explains it" in verdict.feedback and "BucketNotEmpty" in verdict.feedback


def test_it_quotes_a_docstring_without_its_quote_marks():
    verdict = check(ScriptRun().source('def cleanup():\n    """The bucket must be empty before delete."""\n').record())
    assert 'explains it: "The bucket must be empty before delete."' in verdict.feedback
