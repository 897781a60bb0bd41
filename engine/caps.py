"""Caps on what the record keeps of anything a script sent or stored.

A script chooses every string, list and map the mock sees, so each is cut to a
size the record (and the grader reading it) can always afford, and marked as cut.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

# Each recorded string is at most about this many bytes of JSON; a longer one is cut and says so.
FIELD_BYTES = 1024
# A bucket or key name is an identity: any name S3 accepts (1,024 bytes of UTF-8) is kept whole.
NAME_BYTES = 1024
MAX_ITEMS = 50  # entries of a list or a map
# A request's parameters, or one stored entry (a DynamoDB item), as JSON.
JSON_BYTES = 4096
# Deep enough for a BatchWriteItem's items (RequestItems > table > request > Item > attribute > value).
JSON_DEPTH = 8


def cap_text(text: str, limit: int = FIELD_BYTES) -> str:
    """The text, or as much of its head as fits in about `limit` bytes of JSON, marked as cut.

    Measured as JSON because that is what the record holds: a byte 0xFF of a
    header is one character and six bytes (\\u00ff) there.
    """
    if len(text) * 12 <= limit or len(json.dumps(text)) <= limit:
        return text
    room, kept = limit - 40, 0  # 40: the mark
    for char in text:
        room -= len(json.dumps(char)) - 2
        if room < 0:
            break
        kept += 1
    return f"{text[:kept]}[cut: {len(text) - kept} more chars]"


def cap_name(name: str | None) -> str | None:
    """A bucket or key name: whole when S3 would accept its length, else cut to that and marked."""
    if name is None or len(name) * 4 <= NAME_BYTES:
        return name
    data = name.encode("utf-8", "surrogatepass")
    if len(data) <= NAME_BYTES:
        return name
    head = data[:NAME_BYTES].decode("utf-8", "ignore")
    return f"{head}[cut: {len(name) - len(head)} more chars]"


def cap_json(value: Any, limit: int = JSON_BYTES) -> Any:
    """Any JSON value with its strings, lists, maps and nesting capped; a map is also
    held to about `limit` bytes of JSON in all, its largest values cut first."""
    capped = _cap(value, JSON_DEPTH)
    if isinstance(capped, dict):
        return _fit(capped, limit)
    return capped


def _cap(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return cap_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict | list | tuple) and depth <= 0:
        return f"[cut: nested deeper than {JSON_DEPTH}]"
    if isinstance(value, dict):
        capped = {cap_text(str(k)): _cap(v, depth - 1) for k, v in islice(value.items(), MAX_ITEMS)}
        if len(value) > MAX_ITEMS:
            capped["[cut]"] = f"{len(value) - MAX_ITEMS} more entries"
        return capped
    if isinstance(value, list | tuple):
        items = [_cap(v, depth - 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"[cut: {len(value) - MAX_ITEMS} more items]")
        return items
    return cap_text(repr(value))


def _fit(capped: dict[str, Any], limit: int) -> dict[str, Any]:
    total = len(json.dumps(capped))
    if total <= limit:
        return capped
    sizes = sorted(((len(json.dumps(v)), k) for k, v in capped.items()), reverse=True)
    for size, key in sizes:
        mark = f"[cut: {size} bytes of JSON]"
        capped[key] = mark
        total -= size - len(json.dumps(mark))
        if total <= limit:
            break
    return capped
