"""The recorder in front of the real mock serving DynamoDB, in this process: what a call to a
service other than S3 leaves in the record (engine/recorder.py, botocore_ops.py, probes.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.test import Client, EnvironBuilder

from engine import botocore_ops, moto_internals, probes
from engine.record import service_state_after
from engine.recorder import RecordingMiddleware
from engine.runner import read_call_record

DYNAMODB_AUTH = (
    "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
)
S3_AUTH = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
INVENTORY = {
    "TableName": "inventory-alice",
    "KeySchema": [{"AttributeName": "sku", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "sku", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


class Mock:
    """A fresh mock serving S3 and DynamoDB, its recorder writing to a file, driven with raw requests."""

    def __init__(self, app, path: Path) -> None:
        moto_internals.reset_state()
        self.path = path
        self.file = path.open("w", encoding="utf-8")
        self.recorder = RecordingMiddleware(app, self.file)
        self.client = Client(self.recorder)

    def dynamodb(self, operation: str, params: dict | None = None, body: bytes | None = None) -> int:
        headers = {"Authorization": DYNAMODB_AUTH, "X-Amz-Target": f"DynamoDB_20120810.{operation}"}
        data = json.dumps(params or {}).encode() if body is None else body
        return self.client.post("/", data=data, headers=headers, content_type="application/x-amz-json-1.0").status_code

    def entries(self) -> list[dict]:
        self.file.flush()
        return [json.loads(line) for line in self.path.read_text().splitlines()]

    def finish(self, *, complete: bool = True):
        self.recorder.finish()
        self.file.close()
        return read_call_record(self.path, complete=complete)


@pytest.fixture
def mock(app, tmp_path):
    return Mock(app, tmp_path / "record.jsonl")


def put(sku: str, qty: int) -> dict:
    return {"PutRequest": {"Item": {"sku": {"S": sku}, "qty": {"N": str(qty)}}}}


def test_a_dynamodb_call_records_its_service_operation_resources_parameters_and_state_changes(mock):
    mock.dynamodb("CreateTable", INVENTORY)
    mock.dynamodb("BatchWriteItem", {"RequestItems": {"inventory-alice": [put("A-1", 3), put("A-2", 0)]}})
    create, batch = mock.entries()
    assert (create["service"], create["operation"], create["status"]) == ("dynamodb", "CreateTable", 200)
    assert create["resources"] == {"TableName": "inventory-alice"}
    assert (
        create["params"]["KeySchema"] == INVENTORY["KeySchema"] and create["params"]["BillingMode"] == "PAY_PER_REQUEST"
    )
    assert create["service_changes"][0]["value"]["billing_mode"] == "PAY_PER_REQUEST"
    assert batch["params"]["request_counts"] == {"inventory-alice": {"PutRequest": 2}}
    changes = {c.get("entry"): c["value"] for c in batch["service_changes"]}
    assert changes[None]["item_count"] == 2
    assert changes['{"sku": {"S": "A-1"}}'] == {"sku": {"S": "A-1"}, "qty": {"N": "3"}}
    assert batch["bucket"] is None and batch["changes"] == []


def test_a_failed_conditional_update_records_its_error_code_and_changes_nothing(mock):
    mock.dynamodb("CreateTable", INVENTORY)
    mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": "A-2"}, "qty": {"N": "0"}}})
    update = {
        "TableName": "inventory-alice",
        "Key": {"sku": {"S": "A-2"}},
        "UpdateExpression": "SET qty = qty - :one",
        "ConditionExpression": "qty >= :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    assert mock.dynamodb("UpdateItem", update) == 400
    failed = mock.entries()[-1]
    assert (failed["operation"], failed["error_code"]) == ("UpdateItem", "ConditionalCheckFailedException")
    assert failed["params"]["ConditionExpression"] == "qty >= :one"
    assert failed["service_changes"] == []


def test_reads_are_not_probed_and_an_s3_call_is_recorded_exactly_as_before(mock, monkeypatch):
    mock.dynamodb("CreateTable", INVENTORY)
    monkeypatch.setitem(probes._loaded, "dynamodb", lambda *_: pytest.fail("a read was probed"))
    mock.dynamodb("Scan", {"TableName": "inventory-alice", "Limit": 2})
    mock.client.put("/lab-bucket", headers={"Authorization": S3_AUTH})
    scan, create_bucket = mock.entries()[1:]
    assert scan["params"] == {"TableName": "inventory-alice", "Limit": 2} and scan["service_changes"] == []
    assert create_bucket["operation"] == "CreateBucket"
    assert set(create_bucket) == {
        *("seq", "t", "operation", "method", "path", "query", "bucket", "key", "status", "error_code"),
        *("params", "changes", "stdout_before", "stdout_after"),
    }


def test_a_huge_request_is_served_whole_and_recorded_capped(mock):
    mock.dynamodb("CreateTable", INVENTORY)
    item = {"sku": {"S": "A-1"}, "note": {"S": "x" * 50_000}, **{f"a{i}": {"N": str(i)} for i in range(100)}}
    assert mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": item}) == 200
    entry = mock.entries()[-1]
    assert len(json.dumps(entry["params"])) <= 4096
    stored = next(c["value"] for c in entry["service_changes"] if c.get("entry"))
    assert stored["sku"] == {"S": "A-1"} and stored["note"]["S"].endswith("more chars]")
    assert len(json.dumps(entry)) < 16_000


def test_a_request_the_recorder_cannot_name_is_still_served_and_recorded_with_the_error(mock, monkeypatch):
    def broken(*_):
        raise RuntimeError("the model is gone")

    monkeypatch.setattr(botocore_ops, "name_request", broken)
    assert mock.dynamodb("CreateTable", INVENTORY) == 200
    entry = mock.entries()[-1]
    assert (entry["service"], entry["operation"]) == ("dynamodb", "Unknown")
    assert "the model is gone" in entry["params"]["record_error"]


def test_a_probe_that_fails_is_recorded_and_the_next_write_catches_up(mock, monkeypatch):
    mock.dynamodb("CreateTable", INVENTORY)

    def broken(*_):
        raise RuntimeError("moto changed")

    monkeypatch.setitem(probes._loaded, "dynamodb", broken)
    assert mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": "A-1"}}}) == 200
    assert "moto changed" in mock.entries()[-1]["params"]["record_error"]
    monkeypatch.undo()
    mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": "A-2"}}})
    calls, *_ = mock.finish()
    assert len(service_state_after(calls, "dynamodb")["inventory-alice"]["entries"]) == 2


def test_the_trailer_holds_the_final_state_and_without_it_the_calls_rebuild_the_same(mock):
    mock.dynamodb("CreateTable", INVENTORY)
    mock.dynamodb("BatchWriteItem", {"RequestItems": {"inventory-alice": [put("A-1", 3), put("A-2", 0)]}})
    mock.dynamodb("DeleteItem", {"TableName": "inventory-alice", "Key": {"sku": {"S": "A-2"}}})
    mock.dynamodb("CreateTable", {**INVENTORY, "TableName": "scratch"})
    mock.dynamodb("DeleteTable", {"TableName": "scratch"})
    record = mock.finish()
    table = record.final_services["dynamodb"]["inventory-alice"]
    assert list(table["entries"]) == ['{"sku": {"S": "A-1"}}'] and table["resource"]["item_count"] == 1
    assert list(record.final_services["dynamodb"]) == ["inventory-alice"]
    lines = mock.path.read_text().splitlines()
    mock.path.write_text("\n".join(lines[:-1]) + "\n")  # the mock was killed before its trailer
    assert read_call_record(mock.path, complete=False).final_services == record.final_services


def test_an_s3_labs_trailer_has_no_final_services(app, tmp_path):
    mock = Mock(moto_internals.gated_dispatcher(frozenset({"s3"})), tmp_path / "record.jsonl")
    mock.client.put("/lab-bucket", headers={"Authorization": S3_AUTH})
    record = mock.finish()
    assert "final_services" not in json.loads(mock.path.read_text().splitlines()[-1])
    assert record.final_services == {} and list(record.final_state) == ["lab-bucket"]


def test_writing_many_items_reads_each_written_item_once(mock, monkeypatch):
    read = []
    real_read = moto_internals._read_item
    monkeypatch.setattr(moto_internals, "_read_item", lambda *args: read.append(1) or real_read(*args))
    mock.dynamodb("CreateTable", INVENTORY)
    for i in range(300):
        mock.dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": f"A-{i}"}}})
    for i in range(0, 300, 25):
        mock.dynamodb(
            "BatchWriteItem", {"RequestItems": {"inventory-alice": [put(f"B-{i + j}", j) for j in range(25)]}}
        )
    assert len(read) == 600  # linear: a write reads its own items, never the whole table
    record = mock.finish()
    assert record.final_services["dynamodb"]["inventory-alice"]["resource"]["item_count"] == 600


def test_a_request_moto_fails_on_is_answered_in_its_protocol_and_recorded_with_its_service(app, tmp_path):
    def failing(environ, start_response):
        raise RuntimeError("moto broke")

    failing.backend_of, failing.served = app.backend_of, app.served  # the gate, as the recorder asks it
    mock = Mock(failing, tmp_path / "record.jsonl")
    headers = {"Authorization": DYNAMODB_AUTH, "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    environ = EnvironBuilder(method="POST", data=json.dumps({"TableName": "t", "Item": {}}), headers=headers)
    answered = []  # a server's start_response: the test Client would re-raise the exc_info
    body = b"".join(mock.recorder(environ.get_environ(), lambda status, *_: answered.append(status)))
    assert answered == ["500 Internal Server Error"] and json.loads(body)["__type"] == "InternalError"
    entry = mock.entries()[-1]
    assert (entry["service"], entry["operation"], entry["error_code"]) == ("dynamodb", "PutItem", "InternalError")
    assert "moto broke" in entry["params"]["mock_error"] and entry["resources"] == {"TableName": "t"}
