"""Everything Lab Grader knows about moto's insides, in one place.

moto is a pinned dependency; what we use of it beyond its WSGI app is its
request dispatch (which backend a request goes to), the S3 backend's state and
the DynamoDB backend's tables (its state probe, engine/probes.py).
A moto upgrade is one run of tests/unit/engine/test_moto_internals.py and the
containment suite away from being known to work.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.probes import ResourceView

# A request the dispatcher cannot place (no signature, no known host) goes to
# S3, as moto itself does (its DEFAULT_SERVICE_REGION).
_DEFAULT_BACKEND = "s3"
# moto's own control API and the EC2 instance metadata endpoint: never a lab's service.
_INTERNAL_BACKENDS = {"moto_api", "instance_metadata"}
# A script chooses the hosts it sends; the cache of their backends stays small whatever it sends.
_HOSTS_REMEMBERED = 256


class ServiceRefused(Exception):
    """The request is for a service the assignment does not declare."""

    def __init__(self, service: str):
        super().__init__(service)
        self.service = service


def gated_dispatcher(services: frozenset[str]):
    """moto's domain dispatcher, refusing every backend not in `services` before it is built.

    Which backend a request is for is decided by moto's own dispatch code
    (the same host and signature rules it uses to route), so the gate and moto
    cannot disagree about what a request is.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    class GatedDispatcher(DomainDispatcherApplication):
        def backend_of(self, environ: dict[str, Any]) -> str:
            path = environ.get("PATH_INFO", "")
            if path.startswith("/moto-api") or path == "/favicon.ico":
                return "moto_api"
            if path.startswith(("/latest/meta-data/", "/latest/api/")):
                return "instance_metadata"
            try:
                host = self.infer_service_region_host(environ, path)
            except Exception:  # noqa: BLE001 - a malformed request is refused, not a crash
                return "unknown"
            if host is None:
                return _DEFAULT_BACKEND
            return self.backend_for_host(host)

        def backend_for_host(self, host: str) -> str:
            # moto lists its modules on disk for every lookup (~0.4 ms, twice a request: the
            # recorder's and the gate's); the answer for a host never changes in a process.
            backend = self.host_backends.get(host)
            if backend is None:
                backend = self.get_backend_for_host(host) or "unknown"
                if len(self.host_backends) < _HOSTS_REMEMBERED:
                    self.host_backends[host] = backend
            return backend

        def get_application(self, environ: dict[str, Any]):
            backend = self.backend_of(environ)
            environ["labgrader.service"] = backend
            if backend not in services or backend in _INTERNAL_BACKENDS:
                raise ServiceRefused(backend)
            with self.lock:
                app = self.app_instances.get(backend)
                if app is None:
                    app = self.app_instances[backend] = self.create_app(backend)
            return app

    dispatcher = GatedDispatcher(create_backend_app)
    dispatcher.served = frozenset(services - _INTERNAL_BACKENDS)
    dispatcher.host_backends = {}
    return dispatcher


def served_services(app) -> frozenset[str] | None:
    """The services the gate dispatches; None when app is not the gate."""
    return getattr(app, "served", None)


def service_of(app, environ: dict[str, Any]) -> str | None:
    """The backend the gate will send this request to; None when app is not the gate."""
    backend_of = getattr(app, "backend_of", None)
    return backend_of(environ) if callable(backend_of) else None


def warm_up(app) -> None:
    """Build the handlers of the served services (moto builds each on its first request) and reset the state."""
    # Imported by moto's first request of any service (0.1 s); S3's warm-up below would import them too.
    import moto.iam.access_control  # noqa: F401
    import moto.iam.models  # noqa: F401

    served = served_services(app) or frozenset({"s3"})
    if "s3" in served:  # a lab without S3 would have these requests refused
        _warm_up_s3(app)
    for service in sorted(served - {"s3"}):
        _build_handler(app, service)
    reset_state()


def _warm_up_s3(app) -> None:
    from werkzeug.test import Client

    client = Client(app)
    signature = "Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
    auth = {"Authorization": f"AWS4-HMAC-SHA256 {signature}"}
    client.put("/warm-up", headers=auth)
    client.put("/warm-up/k", data=b"x", headers={**auth, "x-amz-tagging": "a=b"})
    client.get("/warm-up/k?tagging", headers=auth)
    client.get("/warm-up?list-type=2", headers=auth)
    client.delete("/warm-up/k", headers=auth)
    client.delete("/warm-up", headers=auth)


def _build_handler(app, service: str) -> None:
    """What moto does on a service's first request: its Flask app, and the botocore model it parses with."""
    from moto.core.responses import boto3_service_name
    from moto.core.utils import get_service_model

    with app.lock:
        if service not in app.app_instances:
            app.app_instances[service] = app.create_app(service)
    try:
        get_service_model(boto3_service_name.get(service, service))
    except Exception:  # noqa: BLE001 - a service moto names otherwise loads its model on its first request
        pass


def reset_state() -> None:
    """What moto's own /moto-api/reset does: every backend and model back to empty."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()


# The recorder judges a body's encoding and preview on its head; lab files are a few bytes.
HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class StoredObject:
    """One current object, read out of moto into plain values: nothing of moto leaves this module."""

    size: int
    head: bytes | None  # the body's first HEAD_BYTES; None when moto cannot give it back
    tags: dict[str, str]


def stored_objects() -> dict[str, dict[str, StoredObject]]:
    """Every bucket of this moto process and the current version of each of its objects.

    In a versioned bucket a key's current version may be a delete marker: the
    object is then gone, as a listing shows, and older versions are not objects.
    """
    from moto.s3.models import FakeKey, s3_backends

    state: dict[str, dict[str, StoredObject]] = {}
    for regions in list(s3_backends.values()):
        for backend in list(regions.values()):
            for name, bucket in list(backend.buckets.items()):
                objects = state.setdefault(name, {})
                for key in list(bucket.keys):
                    fake_key = bucket.keys.get(key)
                    if isinstance(fake_key, FakeKey):
                        objects[key] = _read_object(backend, fake_key)
    return state


def _read_object(backend: Any, fake_key: Any) -> StoredObject:
    # Each part on its own: a key whose body is gone still has a size and tags.
    return StoredObject(size=_size(fake_key), head=_head(fake_key), tags=_tags(backend, fake_key))


def _size(fake_key: Any) -> int:
    try:
        return int(fake_key.size)
    except Exception:  # noqa: BLE001 - whatever moto holds, the recorder goes on
        return 0


def _head(fake_key: Any) -> bytes | None:
    """The first HEAD_BYTES of the body, without copying the rest as FakeKey.value would."""
    try:
        with fake_key.lock:
            fake_key._value_buffer.seek(0)
            return bytes(fake_key._value_buffer.read(HEAD_BYTES))
    except Exception:  # noqa: BLE001 - a disposed key's buffer is closed
        return None


def _tags(backend: Any, fake_key: Any) -> dict[str, str]:
    try:
        return {str(t["Key"]): str(t["Value"]) for t in backend.get_object_tagging(fake_key)["Tags"]}
    except Exception:  # noqa: BLE001 - unreadable tags are recorded as none
        return {}


# --- DynamoDB: every table and its items, as plain values (engine/probes.py) -----------------

# How deep an item's maps and lists are read; deeper values are marked (the record keeps less).
_ITEM_DEPTH = 16


def dynamodb_state(request: dict[str, Any] | None, max_entries: int) -> dict[str, ResourceView]:
    """Every table: its description, and its items (entry id: its key, as JSON; value: the item
    in DynamoDB's wire format). With a request naming items (PutItem's Item, UpdateItem's Key,
    BatchWriteItem's and TransactWriteItems' requests), only those are read; with one naming
    just a table, that table's items; otherwise every table's."""
    scope = _dynamodb_scope(request)
    views = {}
    for name, table in _dynamodb_tables().items():
        if scope is None or (name in scope and scope[name] is None):
            views[name] = _whole_table(table, max_entries)
        else:
            views[name] = _some_items(table, scope.get(name) or [])
    return views


def _dynamodb_tables() -> dict[str, Any]:
    """Table name -> table; a name used again in another region or account gets " (region)"."""
    from moto.dynamodb.models import dynamodb_backends

    tables: dict[str, Any] = {}
    for regions in list(dynamodb_backends.values()):
        for region, backend in list(regions.items()):
            for name, table in list(backend.tables.items()):
                tables[name if name not in tables else f"{name} ({region})"] = table
    return tables


def _dynamodb_scope(request: dict[str, Any] | None) -> dict[str, list[Any] | None] | None:
    """Table -> the keys (or items) the request names in it; None for a whole table, or for every table."""
    if not isinstance(request, dict):
        return None
    table = request.get("TableName")
    if isinstance(table, str):
        named = request.get("Key", request.get("Item"))
        return {table: [named] if isinstance(named, dict) else None}
    scope: dict[str, list[Any] | None] = {}
    batch = request.get("RequestItems")
    for table, writes in batch.items() if isinstance(batch, dict) else ():
        # BatchWriteItem: {table: [{"PutRequest": {"Item": ...}}, {"DeleteRequest": {"Key": ...}}]}
        writes = [w for write in _dicts(writes) for w in _dicts(list(write.values()))]
        scope[str(table)] = [w.get("Item", w.get("Key")) for w in writes]
    for action in _dicts(request.get("TransactItems")):
        # TransactWriteItems: [{"Put": {"TableName": ..., "Item": ...}}, {"Update": {..., "Key": ...}}]
        for write in _dicts(list(action.values())):
            if isinstance(write.get("TableName"), str):
                scope.setdefault(write["TableName"], []).append(write.get("Key", write.get("Item")))
    return scope or None


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _whole_table(table: Any, max_entries: int) -> ResourceView:
    entries: dict[str, dict[str, Any] | None] = {}
    for item in _items(table):
        if len(entries) >= max_entries:
            break
        entry, value = _read_item(table, item)
        entries[entry] = value
    return ResourceView(_describe_table(table), entries, complete=True, entry_count=_item_count(table))


def _some_items(table: Any, keys: list[Any]) -> ResourceView:
    entries: dict[str, dict[str, Any] | None] = {}
    for key in keys:
        try:
            item = _stored_item(table, key)
            entry, value = _read_item(table, item) if item is not None else (_entry_id(table, key), None)
        except Exception:  # noqa: BLE001 - a key moto refused; a change it hid is caught by the count
            continue
        entries[entry] = value
    return ResourceView(_describe_table(table), entries, complete=False, entry_count=_item_count(table))


def _items(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for by_range in list(table.items.values()) for item in list(by_range.values())]


def _item_count(table: Any) -> int:
    if table.range_key_attr is None:
        return len(table.items)
    return sum(len(by_range) for by_range in list(table.items.values()))


def _stored_item(table: Any, key: dict[str, Any]) -> Any:
    """The item stored under this key, looked up as moto does (its DynamoType equality), or None."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    # .get, not []: table.items is a defaultdict, and a lookup must not add to it.
    stored = table.items.get(DynamoType(key[table.hash_key_attr]))
    if table.range_key_attr is None or stored is None:
        return stored
    return stored.get(DynamoType(key[table.range_key_attr]))


def _describe_table(table: Any) -> dict[str, Any]:
    return {
        "key_schema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in table.schema],
        "attribute_definitions": {a["AttributeName"]: a["AttributeType"] for a in table.attr},
        # moto holds PROVISIONED when the request named no billing mode, as AWS does.
        "billing_mode": table.billing_mode or "PROVISIONED",
        # moto holds no status: it creates and deletes a table at once, and describes every
        # table it holds as ACTIVE (Table.describe, which also counts every item: too slow here).
        "status": "ACTIVE",
        "item_count": _item_count(table),
        "region": table.region_name,
    }


def _read_item(table: Any, item: Any) -> tuple[str, dict[str, Any]]:
    try:
        attributes = list(item.attrs.items())
        keys = [(n, v) for n, v in attributes if n in (table.hash_key_attr, table.range_key_attr)]
        value = {str(n): _wire(v, _ITEM_DEPTH) for n, v in [*keys, *(a for a in attributes if a not in keys)]}
        return _entry_id(table, value), value
    except Exception as error:  # noqa: BLE001 - whatever moto holds, the recorder goes on
        return f"[unreadable item {id(item)}]", {"[unreadable]": {"S": f"{type(error).__name__}: {error}"[:300]}}


def _wire(attribute: Any, depth: int) -> dict[str, Any]:
    """A DynamoType as DynamoDB's wire format writes it: {"S": "A-100"}, {"N": "12"}, {"M": {...}}."""
    kind, value = attribute.type, attribute.value
    if kind in ("M", "L") and depth <= 0:
        return {kind: f"[cut: nested deeper than {_ITEM_DEPTH}]"}
    if kind == "M":
        return {kind: {str(k): _wire(v, depth - 1) for k, v in value.items()}}
    if kind == "L":
        return {kind: [_wire(v, depth - 1) for v in value]}
    if kind == "B":
        return {kind: _base64(value)}
    if kind == "BS":
        return {kind: [_base64(v) for v in value]}
    return {kind: value}


def _base64(value: Any) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)


def _entry_id(table: Any, item: dict[str, Any]) -> str:
    """An item's key as JSON, its attributes sorted: {"sku": {"S": "A-100"}}. A number is written
    as its value, so that 12 and 12.0, one key to DynamoDB, are one entry."""
    key = {}
    for name in (table.hash_key_attr, table.range_key_attr):
        if name is not None and name in item:
            ((kind, value),) = item[name].items()
            key[name] = {kind: _number(value) if kind == "N" else value}
    return json.dumps(key, sort_keys=True)


def _number(text: str) -> str:
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError):
        return str(text)
    if not number.is_finite() or abs(number.adjusted()) > 200:
        return str(text)
    return format(number.normalize(), "f") if number else "0"
