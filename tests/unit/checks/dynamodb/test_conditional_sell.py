from tests.unit.checks.dynamodb.records import TABLE, check, correct_run, loaded, reported

conditional_sell = check("conditional_sell")
CRASH = (
    "botocore.errorfactory.ConditionalCheckFailedException: An error occurred (ConditionalCheckFailedException)"
    " when calling the UpdateItem operation: The conditional request failed"
)


def test_it_passes_a_sale_and_a_caught_refusal_with_the_message():
    verdict = conditional_sell(correct_run().record())
    assert verdict.passed, verdict.feedback
    assert "Sold A-100 with a conditional UpdateItem (qty 12 -> 10)" in verdict.feedback
    assert "out of stock: A-103" in verdict.feedback


def test_it_fails_a_stock_check_in_python_without_a_condition_expression():
    run = reported().update(TABLE, "A-101", 3, conditional=False, printed="sold 3 A-101")
    run.print("out of stock: A-103").delete_table(TABLE).wait_not_exists(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert verdict.feedback.startswith("No UpdateItem had a ConditionExpression")


def test_it_fails_a_run_without_any_update():
    verdict = conditional_sell(reported().delete_table(TABLE).record())
    assert not verdict.passed
    assert "No UpdateItem was made" in verdict.feedback


def test_it_names_the_item_that_was_not_out_of_stock():
    run = reported().sell(TABLE, "B-201", 1).sell(TABLE, "B-201", 10).delete_table(TABLE).wait_not_exists(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert (
        "The conditional update that failed was on B-201, whose qty was 3: the lab asks to sell an item"
        " whose qty is 0 (A-103, B-204, D-303)." == verdict.feedback
    )


def test_it_fails_a_refusal_on_an_item_the_table_does_not_hold():
    run = reported().sell(TABLE, "A-100", 1).sell(TABLE, "Z-999", 1).delete_table(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert "was on Z-999, which the table did not hold" in verdict.feedback


def test_it_fails_a_refusal_that_crashed_the_script():
    run = reported().sell(TABLE, "A-100", 1).update(TABLE, "A-103", 1).crash(CRASH)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert (
        "The failed conditional update was not caught: the script crashed with ConditionalCheckFailedException."
        in verdict.feedback
    )
    assert "print out of stock: A-103" in verdict.feedback


def test_calls_made_by_a_finally_after_the_crash_do_not_count_as_catching_it():
    run = reported().sell(TABLE, "C-107", 3).update(TABLE, "D-303", 1)
    run.delete_table(TABLE).wait_not_exists(TABLE).print("cleaned up").crash(CRASH)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert "not caught" in verdict.feedback and "D-303" in verdict.feedback


def test_an_earlier_caught_refusal_still_passes_when_a_later_one_crashed():
    run = reported().sell(TABLE, "A-100", 1).sell(TABLE, "A-103", 1).update(TABLE, "B-204", 1).crash(CRASH)
    assert conditional_sell(run.record()).passed


def test_it_fails_a_script_that_stopped_right_after_the_refusal_for_another_reason():
    run = reported().sell(TABLE, "A-100", 1).update(TABLE, "A-103", 1).crash("KeyError: 'Attributes'")
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert "The script made no call after the failed conditional update of A-103" in verdict.feedback


def test_a_refusal_at_the_end_of_a_run_that_ended_normally_was_caught():
    run = reported().sell(TABLE, "A-100", 1).sell(TABLE, "A-103", 1)
    assert conditional_sell(run.record()).passed


def test_it_quotes_the_wrong_out_of_stock_line():
    run = reported().sell(TABLE, "A-100", 1)
    run.update(TABLE, "B-204", 1, printed="out of stock: The conditional request failed").delete_table(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert "stdout shows 'out of stock: The conditional request failed', not 'out of stock: B-204'" in verdict.feedback


def test_it_fails_a_refusal_that_was_never_reported():
    run = reported().sell(TABLE, "A-100", 1).update(TABLE, "B-204", 1).delete_table(TABLE)
    verdict = conditional_sell(run.record())
    assert "stdout never shows 'out of stock: B-204' after the failed update." in verdict.feedback


def test_out_of_stock_printed_before_the_refusal_does_not_count():
    run = reported().print("out of stock: B-204").sell(TABLE, "A-100", 1).update(TABLE, "B-204", 1)
    verdict = conditional_sell(run.delete_table(TABLE).record())
    assert not verdict.passed
    assert "only before the failed update was answered" in verdict.feedback


def test_it_fails_a_run_whose_conditional_updates_all_succeeded():
    run = reported().sell(TABLE, "A-100", 1).sell(TABLE, "A-101", 1).delete_table(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert (
        "No conditional UpdateItem failed with ConditionalCheckFailedException: call sell() once for an item"
        " whose qty is 0 (A-103, B-204, D-303)." in verdict.feedback
    )


def test_it_fails_a_run_that_never_sold_anything():
    run = reported().sell(TABLE, "A-103", 1).delete_table(TABLE)
    verdict = conditional_sell(run.record())
    assert not verdict.passed
    assert "No UpdateItem with a ConditionExpression decremented a qty" in verdict.feedback


def test_sales_on_a_table_keyed_on_uppercase_sku_count():
    run = loaded(key="SKU").paginate(TABLE).report(TABLE).sell(TABLE, "C-105", 4).sell(TABLE, "A-103", 1)
    assert conditional_sell(run.record()).passed
