import time

import pytest

from checks.packaged import load_check
from tests.unit.checks.dynamodb.records import CHECKS_DIR, TABLE, InventoryRun, check, correct_run, sold

cleanup_waited = check("cleanup_waited")
explains_waiter = load_check(CHECKS_DIR, "cleanup_waited").explains_waiter


def test_it_passes_a_deleted_table_waited_for_and_explained():
    verdict = cleanup_waited(correct_run().record())
    assert verdict.passed, verdict.feedback
    assert 'main.py explains why: "delete_table is asynchronous' in verdict.feedback


def test_it_fails_the_table_left_behind():
    verdict = cleanup_waited(sold().record())
    assert not verdict.passed
    assert (
        "Table inventory-alice still exists at the end (25 items): DeleteTable was never called on it."
        == verdict.feedback
    )


def test_it_names_a_scratch_table_left_behind():
    run = InventoryRun().create_table("alice-test").wait_exists("alice-test")
    verdict = cleanup_waited(correct_run_after(run).record())
    assert not verdict.passed
    assert verdict.feedback == "Table alice-test still exists at the end (0 items): DeleteTable was never called on it."


def correct_run_after(run: InventoryRun) -> InventoryRun:
    return sold(run).delete_table(TABLE).wait_not_exists(TABLE)


def test_it_fails_a_delete_without_describe_table_after_it():
    verdict = cleanup_waited(sold().delete_table(TABLE).record())
    assert not verdict.passed
    assert verdict.feedback == "No DescribeTable after DeleteTable: wait with table_not_exists."


def test_it_fails_a_describe_table_that_still_found_the_table():
    run = sold().delete_table(TABLE).call("DescribeTable", TABLE)
    verdict = cleanup_waited(run.record())
    assert not verdict.passed
    assert "DescribeTable after DeleteTable still found inventory-alice" in verdict.feedback


def test_a_not_found_before_the_delete_does_not_count():
    run = sold().call("DescribeTable", TABLE, 400, "ResourceNotFoundException").delete_table(TABLE)
    assert not cleanup_waited(run.record()).passed


def test_it_says_how_delete_table_failed():
    run = sold().call("DeleteTable", TABLE, 400, "ResourceInUseException")
    verdict = cleanup_waited(run.record())
    assert not verdict.passed
    assert (
        "Table inventory-alice still exists at the end (25 items): DeleteTable failed with ResourceInUseException."
        in verdict.feedback
    )


def test_it_shows_the_crash_that_stopped_cleanup():
    run = sold().crash("botocore.errorfactory.ConditionalCheckFailedException: The conditional request failed")
    verdict = cleanup_waited(run.record())
    assert "Table inventory-alice still exists at the end" in verdict.feedback
    assert "The script exited with status 1: botocore.errorfactory.ConditionalCheckFailedException" in verdict.feedback


def test_it_fails_a_source_that_does_not_explain_the_waiter():
    run = correct_run()
    run.sources = {"main.py": "# Clean up.\ntable.delete()\ntable.wait_until_not_exists()\nprint('removed')\n"}
    verdict = cleanup_waited(run.record())
    assert not verdict.passed
    assert verdict.feedback.startswith("No comment, docstring or string explains why the waiter is needed")


def test_it_names_five_tables_left_behind_and_counts_the_rest():
    run = correct_run()
    for index in range(8):
        run.create_table(f"scratch-{index}")
    feedback = cleanup_waited(run.record()).feedback
    assert "Table scratch-4 still exists at the end" in feedback
    assert "scratch-5" not in feedback
    assert "3 more tables created during the run still exist." in feedback


def test_when_calls_were_dropped_every_table_left_counts():
    run = correct_run()
    run.calls_dropped = 12
    run.final_override = {"made-later": {"resource": {}, "entries": {"a": {}}}}
    feedback = cleanup_waited(run.record()).feedback
    assert "Table made-later still exists at the end (1 item)" in feedback
    assert "12 more were counted" in feedback


def test_the_replayed_state_stands_in_for_a_missing_final_state():
    record = sold().record()
    record.final_services = {}
    assert "Table inventory-alice still exists at the end (25 items)" in cleanup_waited(record).feedback


@pytest.mark.parametrize(
    "text",
    [
        "delete_table is asynchronous, so the table is not gone yet",
        "Deleting is async: wait.",
        "The deletion runs in the background (status DELETING): wait until it is done.",
        "The table stays in DELETING state for a while",
        "the table is in the deleting state for a moment",
        "wait until it is gone",
        "Wait until DescribeTable says the table no longer exists.",
        "wait for the table to be really deleted",
        "waits till it doesn't exist",
    ],
)
def test_these_explain_the_waiter(text):
    assert explains_waiter(text)


@pytest.mark.parametrize(
    "text",
    [
        "Clean up.",
        "removed",
        "wait until it is ACTIVE before writing",
        "use the table_not_exists waiter",
        "wait_until_not_exists",
        "deleting the table",
        "async code is fun",
        "wait until it is ACTIVE; then load the rows, scan them page by page, sell two and at last, when all is gone",
    ],
)
def test_these_do_not_explain_the_waiter(text):
    assert not explains_waiter(text)


def test_a_padded_string_of_waits_and_untils_is_read_in_linear_time():
    text = "wait until until until until " * 40_000
    started = time.perf_counter()
    assert not explains_waiter(text)
    print(f"explains_waiter on {len(text):,} characters: {time.perf_counter() - started:.3f} s")
