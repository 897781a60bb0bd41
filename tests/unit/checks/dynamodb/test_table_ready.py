from engine.record import ServiceChange
from tests.unit.checks.dynamodb.records import TABLE, InventoryRun, check, correct_run, loaded

table_ready = check("table_ready")


def test_it_passes_a_table_created_right_and_waited_for():
    verdict = table_ready(correct_run().record())
    assert verdict.passed, verdict.feedback
    assert TABLE in verdict.feedback


def test_it_fails_writing_before_any_describe_table():
    run = InventoryRun().create_table(TABLE).load(TABLE).describe(TABLE)
    verdict = table_ready(run.record())
    assert not verdict.passed
    assert (
        "No DescribeTable between CreateTable and the first write (BatchWriteItem on inventory-alice):"
        " use the table_exists waiter." in verdict.feedback
    )


def test_it_fails_when_the_only_describe_table_before_writing_failed():
    run = InventoryRun().create_table(TABLE).call("DescribeTable", TABLE, 400, "AccessDeniedException").load(TABLE)
    verdict = table_ready(run.record())
    assert not verdict.passed
    assert "DescribeTable answered AccessDeniedException" in verdict.feedback
    assert "table_exists" in verdict.feedback


def test_a_describe_table_before_create_table_does_not_count():
    run = InventoryRun().describe(TABLE).create_table(TABLE).load(TABLE)
    assert not table_ready(run.record()).passed


def test_a_failed_write_before_the_waiter_still_counts_as_the_first_write():
    run = InventoryRun().create_table(TABLE).call("PutItem", TABLE, 400, "ValidationException").describe(TABLE)
    verdict = table_ready(run.load(TABLE).record())
    assert not verdict.passed
    assert "(PutItem on inventory-alice)" in verdict.feedback


def test_a_table_never_written_to_passes_with_a_describe_after_creation():
    run = InventoryRun().create_table(TABLE).wait_exists(TABLE)
    assert table_ready(run.record()).passed


def test_it_names_an_uppercase_partition_key():
    verdict = table_ready(loaded(key="SKU").record())
    assert not verdict.passed
    assert "Partition key is 'SKU' (S); the lab asks for 'sku'." in verdict.feedback


def test_it_fails_a_number_partition_key():
    verdict = table_ready(loaded(key_type="N").record())
    assert not verdict.passed
    assert "Partition key 'sku' has type N; the lab asks for S (a string)." in verdict.feedback


def test_it_fails_a_sort_key():
    verdict = table_ready(loaded(sort_key="name").record())
    assert not verdict.passed
    assert "also has the key 'name' (a sort key)" in verdict.feedback


def test_it_fails_provisioned_billing_when_create_table_sends_no_billing_mode():
    verdict = table_ready(loaded(billing=None).record())
    assert not verdict.passed
    assert "billing mode PROVISIONED" in verdict.feedback
    assert "BillingMode='PAY_PER_REQUEST'" in verdict.feedback


def test_it_names_the_table_the_run_created_instead():
    run = loaded(table="alice-inventory")
    verdict = table_ready(run.record())
    assert not verdict.passed
    assert "No table named inventory-alice was created (the run created alice-inventory)" in verdict.feedback


def test_a_wrongly_named_table_is_judged_too_so_every_problem_is_listed():
    run = InventoryRun().create_table("alice-inventory", key="SKU").load("alice-inventory")
    feedback = table_ready(run.record()).feedback
    assert "alice-inventory" in feedback and "'SKU'" in feedback and "table_exists" in feedback


def test_it_expects_the_username_in_lower_case():
    run = loaded(InventoryRun(username="  Alice \n"))
    assert table_ready(run.record()).passed


def test_it_reports_a_failed_create_table():
    run = InventoryRun().call("CreateTable", TABLE, 400, "ValidationException")
    verdict = table_ready(run.record())
    assert not verdict.passed
    assert "No table was created during the run. CreateTable on inventory-alice failed with ValidationException." in (
        verdict.feedback
    )


def test_it_reads_the_definition_from_the_request_when_the_record_has_no_table_state():
    run = loaded(record_state=False, key="SKU")
    verdict = table_ready(run.record())
    assert not verdict.passed
    assert "Partition key is 'SKU' (S)" in verdict.feedback


def test_one_right_creation_of_the_table_is_enough():
    run = InventoryRun().create_table(TABLE, billing=None).delete_table(TABLE)
    run = loaded(run)
    assert table_ready(run.record()).passed


def test_a_status_change_in_the_table_state_is_not_a_new_table():
    run = InventoryRun().create_table(TABLE)
    run.call("DescribeTable", TABLE, changes=[ServiceChange(TABLE, None, {"status": "ACTIVE"})])
    assert table_ready(run.load(TABLE).record()).passed
