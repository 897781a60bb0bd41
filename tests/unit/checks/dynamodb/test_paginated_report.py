from tests.unit.checks.dynamodb.records import ROWS, TABLE, InventoryRun, check, correct_run, loaded

paginated_report = check("paginated_report")


def test_it_passes_a_paginator_with_page_size_5_and_the_right_totals():
    verdict = paginated_report(correct_run().record())
    assert verdict.passed, verdict.feedback
    assert "items: 25 and total qty: 243" in verdict.feedback


def test_it_passes_page_size_10_in_exactly_three_scans():
    run = loaded().paginate(TABLE, 10).report(TABLE)
    assert len([c for c in run.calls if c.operation == "Scan"]) == 3
    assert paginated_report(run.record()).passed


def test_it_passes_pagination_written_by_hand_with_limit_and_exclusive_start_key():
    run = loaded()
    for page in range(4):
        run.scan(TABLE, limit=8, continued=page > 0)
    assert paginated_report(run.report(TABLE).record()).passed


def test_query_pages_count_like_scan_pages():
    assert paginated_report(loaded().paginate(TABLE, 5, operation="Query").report(TABLE).record()).passed


def test_it_fails_one_scan_without_limit():
    run = loaded().scan(TABLE).report(TABLE)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert (
        "One Scan without Limit read all 25 items: use get_paginator('scan') with PageSize <= 10." == verdict.feedback
    )


def test_it_fails_a_page_size_over_10():
    run = loaded().paginate(TABLE, 12).report(TABLE)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert "The Scan calls used Limit 12; the lab asks for a page size from 1 to 10" in verdict.feedback


def test_it_fails_a_read_that_stops_after_the_first_page():
    run = loaded().scan(TABLE, limit=10).report(TABLE)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert "stopped after 1 Scan call with Limit 10 (at most 10 of its 25 items)" in verdict.feedback
    assert "LastEvaluatedKey" in verdict.feedback


def test_scans_that_start_again_without_exclusive_start_key_are_no_paginated_read():
    run = loaded().scan(TABLE, limit=10).scan(TABLE, limit=10).scan(TABLE, limit=10).report(TABLE)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert "stopped after 1 Scan call" in verdict.feedback


def test_it_fails_a_read_made_before_every_row_was_written():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, rows=ROWS[:10], batch=10)
    run.paginate(TABLE, 5).report(TABLE).load(TABLE, rows=ROWS[10:])
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert "The Scan calls of inventory-alice ran while it held 10 items; it held 25 once loaded" in verdict.feedback


def test_it_names_a_wrong_total_and_the_true_one():
    run = loaded().paginate(TABLE).report(TABLE, total=25)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert verdict.feedback == "stdout shows total qty: 25; the table held 243."


def test_it_names_a_wrong_item_count():
    run = loaded().paginate(TABLE).report(TABLE, items=10)
    assert paginated_report(run.record()).feedback == "stdout shows items: 10; the table held 25."


def test_it_fails_a_report_without_the_lines():
    run = loaded().paginate(TABLE).print("25 items, 243 in stock")
    feedback = paginated_report(run.record()).feedback
    assert "stdout shows no 'items: <n>' line after the paginated read; the table held 25." in feedback
    assert "stdout shows no 'total qty: <n>' line after the paginated read; the table held 243." in feedback


def test_numbers_printed_before_the_read_do_not_count():
    run = loaded().print("items: 25").print("total qty: 243").paginate(TABLE)
    assert not paginated_report(run.record()).passed


def test_the_whole_stdout_counts_when_the_record_has_no_stdout_positions():
    record = loaded().print("items: 25").print("total qty: 243").paginate(TABLE).record()
    for call in record.calls:
        call.stdout_before = call.stdout_after = None
    assert paginated_report(record).passed


def test_a_table_loaded_with_24_items_and_reported_as_24_passes():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, rows=ROWS[:-1])
    verdict = paginated_report(run.paginate(TABLE, 10).report(TABLE).record())
    assert verdict.passed, verdict.feedback
    assert "items: 24 and total qty: 231" in verdict.feedback


def test_a_small_table_needs_only_the_pages_it_takes():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, rows=ROWS[:15])
    assert paginated_report(run.paginate(TABLE, 10).report(TABLE).record()).passed


def test_qty_stored_as_strings_still_counts_in_the_true_sum():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, qty_type="S")
    assert paginated_report(run.paginate(TABLE).report(TABLE).record()).passed


def test_a_second_good_report_is_enough():
    run = loaded().paginate(TABLE).report(TABLE, total=25).paginate(TABLE).report(TABLE)
    assert paginated_report(run.record()).passed


def test_the_numbers_after_a_bad_read_are_named_too():
    run = loaded().scan(TABLE).report(TABLE, items=10, total=91)
    feedback = paginated_report(run.record()).feedback
    assert "One Scan without Limit" in feedback
    assert "stdout shows items: 10; the table held 25." in feedback
    assert "stdout shows total qty: 91; the table held 243." in feedback


def test_it_fails_a_table_that_was_never_read():
    run = loaded().call("Scan", TABLE, 400, "ValidationException", params={"Limit": 5}).report(TABLE)
    verdict = paginated_report(run.record())
    assert not verdict.passed
    assert "was never read with Scan or Query" in verdict.feedback
    assert "Scan on inventory-alice failed with ValidationException." in verdict.feedback


def test_it_fails_a_table_that_never_held_items():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).paginate(TABLE).report(TABLE)
    assert "never held any items, so there was nothing to report" in paginated_report(run.record()).feedback
