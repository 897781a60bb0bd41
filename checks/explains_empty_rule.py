"""Documentation: the source explains why a non-empty bucket cannot be deleted."""

from __future__ import annotations

import ast
import io
import re
import tokenize

from checks.base import Verdict, failed, passed
from engine.record import RunRecord

ID = "explains_empty_rule"
NAME = "Documentation"
_DELETION = re.compile(r"delet|remov")


def check(record: RunRecord) -> Verdict:
    for name, source in record.sources.items():
        for text in prose_chunks(source):
            if explains_rule(text):
                quote = " ".join(text.split())[:120]
                return passed(f'{name} explains it: "{quote}"')
    return failed(
        "No comment, docstring or string explains why a non-empty bucket cannot be deleted.",
        "Add one to cleanup(), e.g. '# S3 refuses to delete a bucket that still holds objects "
        "(BucketNotEmpty), so delete every object first.'",
    )


def explains_rule(text: str) -> bool:
    lowered = text.lower()
    if "bucketnotempty" in lowered:
        return True
    return "empty" in lowered and "bucket" in lowered and bool(_DELETION.search(lowered))


def _string_value(literal: str) -> str:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal  # an f-string: its text is still prose
    return value if isinstance(value, str) else literal


def prose_chunks(source: str) -> list[str]:
    """Comments (consecutive lines joined) and string literals of a Python source."""
    chunks: list[str] = []
    comment_block: list[str] = []
    last_comment_row = -2
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                if token.start[0] != last_comment_row + 1 and comment_block:
                    chunks.append(" ".join(comment_block))
                    comment_block = []
                comment_block.append(token.string.lstrip("#"))
                last_comment_row = token.start[0]
            elif token.type == tokenize.STRING:
                chunks.append(_string_value(token.string))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        # A script that does not parse still gets credit for what it wrote.
        return [line.split("#", 1)[1] for line in source.splitlines() if "#" in line] + chunks
    if comment_block:
        chunks.append(" ".join(comment_block))
    return chunks
