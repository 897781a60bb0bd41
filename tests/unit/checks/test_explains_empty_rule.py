import tokenize
from dataclasses import dataclass, field

import pytest

from checks.prose import prose_chunks
from tests.adversarial import MiB, padding_module
from tests.labs import lab06
from tests.records import DOCUMENTED_SOURCE, ScriptRun

check = lab06("explains_empty_rule").check

KiB = 1024


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


@dataclass
class Reads:
    """What the check handed the tokenizer: characters read per source, and tokens taken in all."""

    chars: list[int] = field(default_factory=list)
    tokens: int = 0


@pytest.fixture
def reads(monkeypatch) -> Reads:
    seen = Reads()
    real = tokenize.generate_tokens

    def counting(readline):
        seen.chars.append(0)

        def counted_readline():
            line = readline()
            seen.chars[-1] += len(line)
            return line

        for token in real(counted_readline):
            seen.tokens += 1
            yield token

    monkeypatch.setattr(tokenize, "generate_tokens", counting)
    return seen


def padded(main_source: str, modules: int = 5) -> ScriptRun:
    """main.py listed after `modules` 1 MiB modules of string tokens."""
    run = ScriptRun()
    run.sources = {f"padding_{index}.py": padding_module() for index in range(modules)}
    run.sources["main.py"] = main_source
    return run


def test_it_reads_at_most_256_kib_of_a_file_and_1_mib_of_source_in_all(reads):
    check(padded("import boto3\n").record())
    assert max(reads.chars) <= 256 * KiB
    assert sum(reads.chars) <= 1 * MiB


def test_it_reads_at_most_50_000_tokens_in_all(reads):
    dense = "x = [" + "1," * (MiB // 2 - 4) + "]\n"  # two characters a token
    run = ScriptRun()
    run.sources = {f"dense_{index}.py": dense for index in range(5)}
    check(run.record())
    assert reads.tokens <= 50_000


def test_it_reads_the_entry_point_first_so_padding_cannot_hide_its_explanation(reads):
    verdict = check(padded(DOCUMENTED_SOURCE).record())
    assert verdict.passed, verdict.feedback
    assert reads.chars == [len(DOCUMENTED_SOURCE)]


def test_an_explanation_within_the_cap_of_a_huge_file_passes():
    source = "# S3 refuses to delete a bucket that still holds objects (BucketNotEmpty)\n" + padding_module()
    assert check(ScriptRun().source(source).record()).passed


def test_feedback_says_what_was_left_unread_when_no_explanation_was_found():
    verdict = check(padded("import boto3\n").record())
    assert not verdict.passed
    assert "non-empty bucket cannot be deleted" in verdict.feedback
    assert "Only part of the source was read" in verdict.feedback
    assert "padding_0.py" in verdict.feedback


def test_an_explanation_past_the_cap_is_not_read_and_the_feedback_says_so():
    source = padding_module() + "# S3 refuses to delete a bucket that still holds objects (BucketNotEmpty)\n"
    verdict = check(ScriptRun().source(source).record())
    assert not verdict.passed
    assert "Only part of the source was read" in verdict.feedback and "main.py" in verdict.feedback


def test_it_reads_no_more_than_it_needs_once_it_finds_the_explanation(reads):
    run = ScriptRun()
    run.sources = {"main.py": DOCUMENTED_SOURCE, "helpers.py": "# more\n"}
    assert check(run.record()).passed
    assert len(reads.chars) == 1
