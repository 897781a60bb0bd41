"""Records built to make the checks slow (issue 8, item 5), for the work tests and the bench.

A real run can hold 5,000 recorded calls and 5 MiB of source, so a check that is
quadratic in buckets, keys or tokens stalls grading on a record like these.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.records import LAB_TAG, ScriptRun, correct_run

MiB = 1024 * 1024


def padding_module(size: int = MiB) -> str:
    """A module of string tokens only (`x = "empty" "bucket" ...`), none of which explains anything."""
    words = '"empty" "bucket" "delete" '
    return "x = (\n" + words * ((size - 12) // len(words)) + "\n)\n"


def adversarial_run(
    *,
    buckets: int = 2300,
    uploads: int = 1000,
    modules: int = 5,
    module_size: int = MiB,
    name: Callable[[str], str] = str,
) -> ScriptRun:
    """A complete lab run, then: `buckets` empty buckets, a bulk bucket listed after each of
    `uploads` uploads (every other object carries the lab tag, the others' tags are read),
    and `modules` padding modules listed before main.py, which explains nothing.

    `name` makes every bucket and key name, so a test can count how often names are compared.
    """
    run = correct_run(name("lab-alice"))
    for index in range(buckets):
        run.create_bucket(name(f"empty-{index:05d}"))
    bulk = name("bulk")
    run.create_bucket(bulk)
    for index in range(uploads):
        key = name(f"file-{index:05d}.txt")
        run.put(bulk, key, size=100 + index, tags=LAB_TAG if index % 2 == 0 else None)
        run.list(bulk).prints(f"{key} {100 + index} bytes")
        if index % 2:
            run.read_tags(bulk, key)
    run.sources = {f"padding_{index}.py": padding_module(module_size) for index in range(modules)}
    run.sources["main.py"] = "import boto3\n"
    return run
