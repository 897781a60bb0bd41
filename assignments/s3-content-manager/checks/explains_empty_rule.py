"""Documentation: the source explains why a non-empty bucket cannot be deleted."""

from __future__ import annotations

import re

from checks.base import Verdict, failed, passed
from checks.prose import Scan, prose_chunks, reading_order
from engine.record import RunRecord

ID = "explains_empty_rule"
NAME = "Documentation"
_DELETION = re.compile(r"delet|remov")


def check(record: RunRecord) -> Verdict:
    scan = Scan()
    for name, source in reading_order(record):
        head = scan.head(name, source)
        for text in prose_chunks(head, scan.tokens(name, head)):
            if explains_rule(text):
                quote = " ".join(text.split())[:120]
                return passed(f'{name} explains it: "{quote}"')
    return failed(
        "No comment, docstring or string explains why a non-empty bucket cannot be deleted.",
        "Add one to cleanup(), e.g. '# S3 refuses to delete a bucket that still holds objects "
        "(BucketNotEmpty), so delete every object first.'",
        scan.note(),
    )


def explains_rule(text: str) -> bool:
    lowered = text.lower()
    if "bucketnotempty" in lowered:
        return True
    return "empty" in lowered and "bucket" in lowered and bool(_DELETION.search(lowered))
