"""What Lab Grader relies on in moto's insides (engine/moto_internals.py): a moto upgrade runs these first."""

import json

import pytest
from werkzeug.test import Client, EnvironBuilder

from engine import moto_internals
from engine.moto_internals import ServiceRefused
from engine.recorder import snapshot_s3


def signed(service: str, region: str = "us-east-1") -> dict[str, str]:
    credential = f"Credential=x/20260101/{region}/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 {credential}, SignedHeaders=host, Signature=x"}


@pytest.fixture(scope="module")
def s3_only():
    app = moto_internals.gated_dispatcher(frozenset({"s3"}))
    moto_internals.warm_up(app)
    yield app
    moto_internals.reset_state()


@pytest.mark.parametrize(
    ("headers", "path", "backend"),
    [
        (signed("s3"), "/bucket?list-type=2", "s3"),
        ({}, "/bucket/key?X-Amz-Credential=x%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", "s3"),
        (signed("cloudformation"), "/", "cloudformation"),
        (signed("sts"), "/bucket?list-type=2", "sts"),
        (signed("dynamodb") | {"X-Amz-Target": "DynamoDB_20120810.ListTables"}, "/", "dynamodb"),
        (signed("s3"), "/moto-api/reset", "moto_api"),
    ],
)
def test_the_gate_names_the_backend_moto_itself_would_dispatch_to(s3_only, headers, path, backend):
    environ = EnvironBuilder(path=path, headers=headers).get_environ()
    assert s3_only.backend_of(environ) == backend


def test_a_request_for_an_undeclared_service_is_refused_before_its_backend_is_built(s3_only):
    with pytest.raises(ServiceRefused) as refused:
        s3_only.get_application({"PATH_INFO": "/", "HTTP_AUTHORIZATION": signed("cloudformation")["Authorization"]})
    assert refused.value.service == "cloudformation"
    assert "cloudformation" not in s3_only.app_instances


def test_the_control_api_is_refused_even_when_every_service_is_declared():
    app = moto_internals.gated_dispatcher(frozenset({"s3", "moto_api"}))
    with pytest.raises(ServiceRefused):
        app.get_application({"PATH_INFO": "/moto-api/reset"})


def test_a_declared_service_is_served_and_its_state_can_be_read(s3_only):
    client = Client(s3_only)
    assert client.put("/gate-bucket", headers=signed("s3")).status_code == 200
    assert client.put("/gate-bucket/k", data=b"hello", headers=signed("s3")).status_code == 200
    assert moto_internals.stored_objects()["gate-bucket"]["k"].size == 5
    moto_internals.reset_state()
    assert moto_internals.stored_objects() == {}


# What the recorder reads of moto's S3 objects: plain values, whatever the script did.


@pytest.fixture
def backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    moto_internals.reset_state()
    yield s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    moto_internals.reset_state()


def test_a_delete_marker_is_no_object_and_the_version_under_it_is_not_shown(backend):
    backend.create_bucket("lab-v", "us-east-1")
    backend.put_bucket_versioning("lab-v", "Enabled")
    backend.put_object("lab-v", "gone.txt", b"old")
    backend.put_object("lab-v", "kept.txt", b"kept")
    backend.delete_object("lab-v", "gone.txt")
    assert list(snapshot_s3()["lab-v"]) == ["kept.txt"]


def test_an_object_whose_body_cannot_be_read_is_recorded_as_unknown(backend):
    backend.create_bucket("lab-x", "us-east-1")
    key = backend.put_object("lab-x", "closed.txt", b"body")
    key.dispose()  # what moto does to a key it dropped; its buffer is closed
    obj = snapshot_s3()["lab-x"]["closed.txt"]
    assert (obj.size, obj.encoding, obj.preview) == (4, "unknown", "")


def test_only_the_head_of_a_large_body_is_read(backend):
    backend.create_bucket("lab-big", "us-east-1")
    backend.put_object("lab-big", "big.txt", b"a" * (3 << 20))
    stored = moto_internals.stored_objects()["lab-big"]["big.txt"]
    assert stored.size == 3 << 20
    assert len(stored.head) == moto_internals.HEAD_BYTES


def test_tags_are_read_as_plain_strings(backend):
    backend.create_bucket("lab-t", "us-east-1")
    key = backend.put_object("lab-t", "t.txt", b"x")
    backend.put_object_tagging(key, {"Project": "Intern-Labs"})
    assert moto_internals.stored_objects()["lab-t"]["t.txt"].tags == {"Project": "Intern-Labs"}


# What the DynamoDB probe reads of moto's tables: plain values, in DynamoDB's wire format.


@pytest.fixture
def dynamodb():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    moto_internals.reset_state()
    yield dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    moto_internals.reset_state()


def create_inventory(backend, name: str = "inventory-alice", billing_mode: str | None = "PAY_PER_REQUEST"):
    backend.create_table(
        name,
        schema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        attr=[{"AttributeName": "sku", "AttributeType": "S"}],
        throughput=None if billing_mode == "PAY_PER_REQUEST" else {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        billing_mode=billing_mode,
        indexes=None,
        global_indexes=None,
        streams=None,
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )


def test_the_dynamodb_probe_describes_each_table_and_reads_its_items_in_wire_format(dynamodb):
    create_inventory(dynamodb)
    dynamodb.put_item("inventory-alice", {"sku": {"S": "A-100"}, "qty": {"N": "12"}, "tags": {"L": [{"S": "x"}]}})
    view = moto_internals.dynamodb_state(None, 2000)["inventory-alice"]
    assert view.description == {
        "key_schema": [{"AttributeName": "sku", "KeyType": "HASH"}],
        "attribute_definitions": {"sku": "S"},
        "billing_mode": "PAY_PER_REQUEST",
        "status": "ACTIVE",
        "item_count": 1,
        "region": "us-east-1",
    }
    assert view.complete and view.entry_count == 1
    assert view.entries == {
        '{"sku": {"S": "A-100"}}': {"sku": {"S": "A-100"}, "qty": {"N": "12"}, "tags": {"L": [{"S": "x"}]}}
    }


def test_a_table_created_without_a_billing_mode_is_provisioned_and_moto_describes_it_as_active(dynamodb):
    app = moto_internals.gated_dispatcher(frozenset({"dynamodb"}))
    client = Client(app)

    def call(operation: str, params: dict) -> dict:
        headers = signed("dynamodb") | {"X-Amz-Target": f"DynamoDB_20120810.{operation}"}
        return json.loads(client.post("/", data=json.dumps(params), headers=headers).get_data())

    call(
        "CreateTable",
        {
            "TableName": "scratch",
            "KeySchema": [{"AttributeName": "sku", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "sku", "AttributeType": "S"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        },
    )
    assert moto_internals.dynamodb_state(None, 2000)["scratch"].description["billing_mode"] == "PROVISIONED"
    # The probe writes ACTIVE without asking moto's describe() (which counts every item): this pins why it may.
    assert call("DescribeTable", {"TableName": "scratch"})["Table"]["TableStatus"] == "ACTIVE"


def test_a_put_item_request_reads_only_its_item_and_the_other_tables_descriptions(dynamodb):
    create_inventory(dynamodb)
    create_inventory(dynamodb, "other")
    dynamodb.put_item("inventory-alice", {"sku": {"S": "A-1"}, "qty": {"N": "1"}})
    dynamodb.put_item("inventory-alice", {"sku": {"S": "A-2"}, "qty": {"N": "2"}})
    views = moto_internals.dynamodb_state({"TableName": "inventory-alice", "Item": {"sku": {"S": "A-2"}}}, 2000)
    assert not views["inventory-alice"].complete and views["inventory-alice"].entry_count == 2
    assert views["inventory-alice"].entries == {'{"sku": {"S": "A-2"}}': {"sku": {"S": "A-2"}, "qty": {"N": "2"}}}
    assert views["other"].entries == {} and not views["other"].complete
    deleted = moto_internals.dynamodb_state({"TableName": "inventory-alice", "Key": {"sku": {"S": "gone"}}}, 2000)
    assert deleted["inventory-alice"].entries == {'{"sku": {"S": "gone"}}': None}


def test_a_batch_write_reads_the_items_it_names_in_each_table(dynamodb):
    create_inventory(dynamodb)
    dynamodb.put_item("inventory-alice", {"sku": {"S": "A-1"}})
    request = {
        "RequestItems": {
            "inventory-alice": [
                {"PutRequest": {"Item": {"sku": {"S": "A-1"}}}},
                {"DeleteRequest": {"Key": {"sku": {"S": "B"}}}},
            ]
        }
    }
    entries = moto_internals.dynamodb_state(request, 2000)["inventory-alice"].entries
    assert entries == {'{"sku": {"S": "A-1"}}': {"sku": {"S": "A-1"}}, '{"sku": {"S": "B"}}': None}


def test_a_number_key_written_two_ways_is_one_entry_as_in_dynamodb():
    table = type("Table", (), {"hash_key_attr": "id", "range_key_attr": None})()
    assert moto_internals._entry_id(table, {"id": {"N": "12.0"}}) == moto_internals._entry_id(
        table, {"id": {"N": "12"}}
    )
    assert moto_internals._entry_id(table, {"id": {"N": "1E+2"}}) == '{"id": {"N": "100"}}'


def test_a_whole_table_read_stops_at_the_cap_but_counts_every_item(dynamodb):
    create_inventory(dynamodb)
    for i in range(5):
        dynamodb.put_item("inventory-alice", {"sku": {"S": f"A-{i}"}})
    view = moto_internals.dynamodb_state(None, 3)["inventory-alice"]
    assert (len(view.entries), view.entry_count, view.description["item_count"]) == (3, 5, 5)
