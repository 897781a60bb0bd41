from tests.unit.checks.dynamodb.records import ROWS, TABLE, InventoryRun, check, correct_run, item_of, loaded

items_loaded = check("items_loaded")


def test_it_passes_all_rows_loaded_with_numbers():
    verdict = items_loaded(correct_run().record())
    assert verdict.passed, verdict.feedback
    assert "inventory-alice held all 25 rows of inventory.csv" in verdict.feedback


def test_it_names_the_row_that_was_never_written():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, rows=ROWS[:-1])
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "The table inventory-alice held 24 items at its fullest; sku E-404 is missing." in verdict.feedback


def test_it_names_an_item_that_is_not_in_the_csv():
    run = loaded().put(TABLE, item_of({"sku": "Z-999", "name": "test", "qty": "1", "price": "1"}))
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "held 26 items at its fullest; sku Z-999 is not in inventory.csv." in verdict.feedback


def test_it_says_a_qty_stored_as_a_string():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, qty_type="S")
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "qty of A-100 is stored as a string ('12'); store numbers as numbers." in verdict.feedback
    assert "(24 more items store qty the same way.)" in verdict.feedback


def test_it_says_a_price_stored_as_a_string():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, price_type="S")
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "price of A-100 is stored as a string ('7.99')" in verdict.feedback
    assert "qty of" not in verdict.feedback


def test_it_says_an_item_without_qty():
    item = item_of(ROWS[0])
    del item["qty"]
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE).load(TABLE, rows=ROWS[1:]).put(TABLE, item)
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "A-100 has no qty attribute; store qty as a number." in verdict.feedback


def test_a_table_keyed_on_uppercase_sku_still_holds_every_row():
    assert items_loaded(loaded(key="SKU").record()).passed


def test_items_are_judged_when_the_table_was_first_at_its_fullest():
    run = loaded()
    for row in ROWS[:5]:
        run.delete_item(TABLE, row["sku"])
    run.put(TABLE, item_of(ROWS[0], qty_type="S"))
    assert items_loaded(run.record()).passed


def test_it_compares_with_the_csv_the_run_started_with():
    run = InventoryRun()
    run.input_files["inventory.csv"] = "sku,name,qty,price\nX-1,one,1,1.5\nX-2,two,0,2\n"
    run.create_table(TABLE).wait_exists(TABLE).load(
        TABLE,
        rows=[
            {"sku": "X-1", "name": "one", "qty": "1", "price": "1.5"},
            {"sku": "X-2", "name": "two", "qty": "0", "price": "2"},
        ],
    )
    assert items_loaded(run.record()).passed


def test_it_falls_back_to_the_provided_csv_when_the_record_has_none():
    run = loaded()
    run.input_files = {}
    assert items_loaded(run.record()).passed


def test_the_target_table_is_the_one_that_held_the_most_items():
    run = InventoryRun().create_table("scratch").put("scratch", item_of(ROWS[0]))
    run = loaded(run)
    verdict = items_loaded(run.record())
    assert verdict.passed and TABLE in verdict.feedback


def test_a_tie_goes_to_the_table_created_first():
    run = InventoryRun().create_table("first").load("first", rows=ROWS[:3])
    run.create_table("second").load("second", rows=ROWS[:3])
    assert "The table first held 3 items" in items_loaded(run.record()).feedback


def test_it_fails_a_table_that_never_held_items_and_shows_the_write_error():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE)
    run.call("BatchWriteItem", TABLE, 400, "ValidationException")
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "The table inventory-alice never held any items" in verdict.feedback
    assert "BatchWriteItem on inventory-alice failed with ValidationException." in verdict.feedback


def test_it_fails_a_run_that_created_no_table():
    run = InventoryRun().describe(TABLE).crash("KeyError: 'sku'")
    verdict = items_loaded(run.record())
    assert not verdict.passed
    assert "No table was created during the run" in verdict.feedback
    assert "KeyError: 'sku'" in verdict.feedback
