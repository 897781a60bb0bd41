"""Prose in a run's sources: comments, docstrings and strings, read within caps.

For checks that ask "does the code explain X?" (Lab 06's Documentation, Lab 07's
Cleanup). A lab script is a few KiB; a submission may hold 5 MiB of padded
modules, which must not stall grading, hence the caps and the reading order.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from engine.record import RunRecord

# A str literal: no prefix, u or r (b or f give no match).
_PLAIN_LITERAL = re.compile(r"""(?s)(?:[uU]|(?P<raw>[rR]))?(?P<quote>'''|"{3}|'|")(?P<body>.*)(?P=quote)\Z""")

# The tokenizer is pure Python, a few microseconds a token: the caps only bite on
# padded or generated modules.
FILE_CAP = 256 * 1024  # characters read of one file
TOTAL_CAP = 1024 * 1024  # characters read of all files
TOKEN_CAP = 50_000  # tokens read of all files


def warm() -> None:
    """Compile the tokenizer's patterns, which it compiles on first use: called once by the
    checks zygote (engine/check_zygote.py), so that its forks do not each compile them."""
    for _token in tokenize.generate_tokens(io.StringIO("x = 1  # a\n").readline):
        pass


def reading_order(record: RunRecord) -> list[tuple[str, str]]:
    """The entry point first, then the smaller files: padding modules cannot use up the caps first."""
    return sorted(record.sources.items(), key=lambda item: (item[0] != record.entry_point, len(item[1])))


@dataclass
class Scan:
    """How much source the check has read, against the caps; which files it read only in part."""

    chars: int = 0
    tokens_read: int = 0
    cut: dict[str, None] = field(default_factory=dict)  # file names, in reading order

    def head(self, name: str, source: str) -> str:
        """The part of the source the caps leave. A token cut in two is fine: prose_chunks()
        reads the comments of a source that does not tokenize to the end."""
        room = min(FILE_CAP, TOTAL_CAP - self.chars)
        if len(source) > room:
            self.cut[name] = None
            source = source[:room]
        self.chars += len(source)
        return source

    def tokens(self, name: str, source: str) -> Iterator[tokenize.TokenInfo]:
        """The source's tokens, until the token cap."""
        last = None
        room = TOKEN_CAP - self.tokens_read
        for last in islice(tokenize.generate_tokens(io.StringIO(source).readline), room):
            self.tokens_read += 1
            yield last
        if last is None or last.type != tokenize.ENDMARKER:
            self.cut[name] = None

    def note(self) -> str:
        if not self.cut:
            return ""
        names = list(self.cut)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return (
            f"(Only part of the source was read: at most {FILE_CAP // 1024} KiB of a file, "
            f"{TOTAL_CAP // (1024 * 1024)} MiB and {TOKEN_CAP:,} tokens in all, the entry point first; "
            f"not read to the end: {shown}.)"
        )


def _string_value(literal: str) -> str:
    """The text of a string literal, without parsing a module for each one where it can."""
    plain = _PLAIN_LITERAL.match(literal)
    if plain is None:
        return literal  # bytes or an f-string: literal_eval gives no str, and its text is still prose
    body = plain["body"]
    if "\r" not in body and (plain["raw"] or "\\" not in body):
        return body  # no escape to undo, nor a CR LF the parser would turn into LF
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal
    return value if isinstance(value, str) else literal


def prose_chunks(source: str, tokens: Iterable[tokenize.TokenInfo] | None = None) -> list[str]:
    """Comments (consecutive lines joined) and string literals of a Python source.

    tokens: the source's tokens, when the caller caps them; all of them by default.
    """
    if tokens is None:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    chunks: list[str] = []
    comment_block: list[str] = []
    last_comment_row = -2
    try:
        for token in tokens:
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
