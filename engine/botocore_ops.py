"""A request to any AWS service but S3, named as boto3 names it, from botocore's service model.

No table per service: the operation, its parameters and the resources it names
all come from the model botocore ships for the service. S3 keeps its own naming
(engine/s3ops.py). In the order moto itself reads a request (so the name is that
of the operation moto runs):
- query and EC2 protocols: the `Action` parameter, in the query string or the form body;
- JSON protocols: `X-Amz-Target: DynamoDB_20120810.CreateTable`, the part after the last dot;
- RPC v2 CBOR: the path `/service/<service>/operation/<operation>`;
- REST (rest-json, rest-xml): the method and the path matched against every
  operation's requestUri template, the most specific match winning.
A name the model does not have, or a request none of these names, is "Unknown".

moto names a backend after its package and botocore a service after its endpoint;
they are the same name but for hyphens ("cognitoidp" is "cognito-idp") and _RENAMED.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

UNKNOWN = "Unknown"
# moto's backends whose name is neither botocore's nor botocore's without hyphens.
_RENAMED = {"awslambda": "lambda"}
# A top-level string parameter that names a resource: TableName, FunctionArn, InstanceId.
_RESOURCE_SUFFIXES = ("Name", "Arn", "Id")
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
_LABEL = re.compile(r"\{([^}]+?)(\+?)\}")
_ERROR_CODE_XML = re.compile(rb"<Code>([^<]{1,100})</Code>")


@dataclass
class Named:
    """What a request is: its operation, its top-level parameters (as sent, not yet
    capped), the resources it names, and the parameters a state probe may read
    (None when the request could not be read: a probe then reads everything)."""

    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] | None = None


@functools.cache
def _loader() -> Loader:
    return Loader()


@functools.cache
def _botocore_names() -> dict[str, str]:
    names = _loader().list_available_services("service-2")
    return {**{n.replace("-", ""): n for n in names}, **{n: n for n in names}}


def botocore_name(backend: str) -> str | None:
    backend = _RENAMED.get(backend, backend)
    return _botocore_names().get(backend) or _botocore_names().get(backend.replace("-", ""))


@functools.cache
def service_model(backend: str) -> ServiceModel | None:
    name = botocore_name(backend)
    if name is None:
        return None
    return ServiceModel(_loader().load_service_model(name, "service-2"), service_name=name)


def warm(backends: frozenset[str]) -> None:
    """Load the models (and their REST routes) of these services, before the mock forks."""
    for backend in backends:
        model = service_model(backend)
        if model is not None:
            for name in model.operation_names:
                model.operation_model(name).input_shape  # noqa: B018 - built once, kept in the model's cache
            _routes(backend)
            _resource_shapes(model)


def name_request(backend: str, environ: dict[str, Any], body: bytes | None) -> Named:
    """body: the request's body, or None when it was too large to read."""
    model = service_model(backend)
    if model is None:
        return Named(UNKNOWN)
    query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    form = _form(environ, body)
    action = dict(query).get("Action") or dict(form).get("Action")
    if action:
        return _query_call(model, action, [*query, *form])
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return _json_call(model, target, body)
    if cbor := _CBOR_PATH.match(environ.get("PATH_INFO", "")):
        return _named(model, cbor.group(1), {}, None) if cbor.group(1) in model.operation_names else Named(UNKNOWN)
    if model.protocol in ("rest-json", "rest-xml"):
        return _rest_call(backend, model, environ, dict(query), body)
    return Named(UNKNOWN)


def _form(environ: dict[str, Any], body: bytes | None) -> list[tuple[str, str]]:
    if not body or "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
        return []
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _query_call(model: ServiceModel, action: str, fields: list[tuple[str, str]]) -> Named:
    if action not in model.operation_names:
        return Named(UNKNOWN, {"action": action})
    params = {k: v for k, v in fields if k not in ("Action", "Version")}
    return _named(model, action, params, params)


def _json_call(model: ServiceModel, target: str, body: bytes | None) -> Named:
    operation = target.rsplit(".", 1)[-1]
    if operation not in model.operation_names:
        return Named(UNKNOWN, {"target": target})
    params, readable = _json_body(body)
    return _named(model, operation, params, params if readable else None)


def _json_body(body: bytes | None) -> tuple[dict[str, Any], bool]:
    """The body's top-level object, and whether the request could be read at all."""
    if body is None:
        return {"body": "[not read: too large]"}, False
    if not body.strip():
        return {}, True
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return {"body": "[not JSON]"}, False
    return (data, True) if isinstance(data, dict) else ({"body": "[not a JSON object]"}, False)


def _named(model: ServiceModel, operation: str, params: dict[str, Any], request: dict[str, Any] | None) -> Named:
    shape = model.operation_model(operation).input_shape
    counts = request_counts(params)
    params = {**params, "request_counts": counts} if counts else params
    return Named(operation, params, resources_of(model, shape, params), request)


def resources_of(model: ServiceModel, shape: Shape | None, params: dict[str, Any]) -> dict[str, str]:
    """The top-level parameters that name resources, by the model's member names.

    A map keyed by what names a resource elsewhere in the service (BatchWriteItem's
    RequestItems is keyed by TableArn, the shape of every TableName) is named after its
    key: "TableName" for one table, "TableNames" ("a,b", in the request's order) for
    several, "TableArn(s)" for ARNs. A map keyed by attribute names (an Item) names none.
    """
    if shape is None:
        return {}
    resources: dict[str, str] = {}
    for name, member in shape.members.items():
        value = _param(params, name, member)
        if _names_a_resource(name, member) and isinstance(value, str):
            resources[name] = value
        elif member.type_name == "map" and member.key.name in _resource_shapes(model) and isinstance(value, dict):
            resources.update(_keyed_resources(member.key.name, [str(k) for k in value]))
    return resources


def _names_a_resource(name: str, member: Shape) -> bool:
    return member.type_name == "string" and name.endswith(_RESOURCE_SUFFIXES)


@functools.cache
def _resource_shapes(model: ServiceModel) -> frozenset[str]:
    """The shapes of the service's top-level resource parameters (DynamoDB's TableName is a TableArn)."""
    shapes = set()
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        members = shape.members.items() if shape is not None else ()
        shapes.update(m.name for n, m in members if _names_a_resource(n, m) and m.name.endswith(_RESOURCE_SUFFIXES))
    return frozenset(shapes)


def _param(params: dict[str, Any], name: str, member: Shape) -> Any:
    # The query protocols send a member under its serialized name when it has one.
    for key in (name, member.serialization.get("queryName"), member.serialization.get("name")):
        if key is not None and key in params:
            return params[key]
    return None


def _keyed_resources(key_shape: str, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    stem = key_shape[: -len(next(s for s in _RESOURCE_SUFFIXES if key_shape.endswith(s)))]
    kind = stem + ("Arn" if all(n.startswith("arn:") for n in names) else "Name")
    return {kind: names[0]} if len(names) == 1 else {kind + "s": ",".join(names[:50])}


def request_counts(params: dict[str, Any]) -> dict[str, dict[str, int]]:
    """For a map of request lists (BatchWriteItem's RequestItems): how many of each kind, per key.

    {"inventory-alice": {"PutRequest": 25}}: the kinds are the members each request sets.
    """
    for value in params.values():
        if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
            requests = [r for v in value.values() for r in v]
            if requests and all(isinstance(r, dict) for r in requests):
                return {str(k): dict(Counter(kind for r in v for kind in r)) for k, v in value.items()}
    return {}


def error_code(body: bytes, headers: list[tuple[str, str]]) -> str | None:
    """The AWS error code of an error answer: x-amzn-ErrorType, a JSON body's __type or
    code ("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"), or <Code>."""
    for name, value in headers:
        if name.lower() == "x-amzn-errortype" and value:
            return _short_code(value)
    if body.lstrip()[:1] == b"{":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            code = data.get("__type") or data.get("code") or data.get("Code")
            if isinstance(code, str) and code:
                return _short_code(code)
    match = _ERROR_CODE_XML.search(body)
    return match.group(1).decode("utf-8", "replace") if match else None


def _short_code(code: str) -> str:
    return code.rsplit("#", 1)[-1].split(":", 1)[0][:100]


# --- REST: method and path against the operations' requestUri templates -------------------


class _Route(NamedTuple):
    method: str
    path: re.Pattern
    labels: tuple[str, ...]
    query: tuple[tuple[str, str | None], ...]  # required query parameters (and their values)
    operation: str
    literal: int  # characters of the path template outside its labels

    @property
    def specificity(self) -> tuple[int, int]:
        # More required query parameters, then more literal path characters.
        return len(self.query), self.literal


@functools.cache
def _routes(backend: str) -> tuple[_Route, ...]:
    model = service_model(backend)
    return tuple(_route(model.operation_model(name)) for name in model.operation_names) if model else ()


def _route(operation: OperationModel) -> _Route:
    uri = operation.http.get("requestUri", "/")
    path, _, query = uri.partition("?")
    pattern, labels, position = "^", [], 0
    for label in _LABEL.finditer(path):
        pattern += re.escape(path[position : label.start()]) + ("(.+)" if label.group(2) else "([^/]+)")
        labels.append(label.group(1))
        position = label.end()
    pattern += re.escape(path[position:]) + "$"
    required = tuple((k, v or None) for k, _, v in (p.partition("=") for p in query.split("&") if p))
    method = operation.http.get("method", "POST")
    literal = len(_LABEL.sub("", path))
    return _Route(method, re.compile(pattern), tuple(labels), required, operation.name, literal)


def _rest_call(
    backend: str, model: ServiceModel, environ: dict[str, Any], query: dict[str, str], body: bytes | None
) -> Named:
    method = environ.get("REQUEST_METHOD", "GET")
    raw = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
    path = raw.split("?", 1)[0]
    matches = []
    for route in _routes(backend):
        if route.method == method and all(k in query and v in (None, query[k]) for k, v in route.query):
            if found := route.path.match(path):
                matches.append((route, found))
    if not matches:
        return Named(UNKNOWN)
    best = max(route.specificity for route, _ in matches)
    winners = [(r, m) for r, m in matches if r.specificity == best]
    if len(winners) > 1:
        return Named(UNKNOWN, {"candidates": sorted(r.operation for r, _ in winners)})
    route, found = winners[0]
    labels = {name: _decoded(value) for name, value in zip(route.labels, found.groups(), strict=True)}
    params = _rest_params(model.operation_model(route.operation), labels, query, environ, body)
    return _named(model, route.operation, params, params)


def _decoded(value: str) -> str:
    # RAW_URI holds the request's bytes as latin-1 (the WSGI convention), %-escapes intact.
    return unquote(value.encode("latin-1", "replace").decode("utf-8", "replace"))


def _rest_params(
    operation: OperationModel, labels: dict[str, str], query: dict[str, str], environ: dict[str, Any], body
) -> dict[str, Any]:
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        location, wire_name = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri" and wire_name in labels:
            params[name] = labels[wire_name]
        elif location == "querystring" and wire_name in query:
            params[name] = query[wire_name]
        elif location == "header" and (value := environ.get("HTTP_" + wire_name.upper().replace("-", "_"))):
            params[name] = value
    if operation.metadata.get("protocol") == "rest-json" and body:
        data, _readable = _json_body(body)
        payload = shape.serialization.get("payload")
        params.update({payload: data} if payload else data)
    return params
