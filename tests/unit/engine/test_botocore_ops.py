"""Naming a request to any service but S3 from botocore's service model (engine/botocore_ops.py)."""

import json

import pytest
from werkzeug.test import EnvironBuilder

from engine import botocore_ops
from engine.botocore_ops import error_code, name_request


def request(method: str, path: str, body: bytes = b"", **kwargs) -> tuple[dict, bytes]:
    return EnvironBuilder(method=method, path=path, data=body, **kwargs).get_environ(), body


def dynamodb(operation: str, params: dict) -> botocore_ops.Named:
    body = json.dumps(params).encode()
    environ, body = request("POST", "/", body, headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}"})
    return name_request("dynamodb", environ, body)


@pytest.mark.parametrize(
    ("backend", "botocore"),
    [("dynamodb", "dynamodb"), ("cognitoidp", "cognito-idp"), ("awslambda", "lambda"), ("nosuchservice", None)],
)
def test_moto_backends_are_botocore_services_but_for_hyphens_and_lambda(backend, botocore):
    assert botocore_ops.botocore_name(backend) == botocore


def test_a_json_request_is_named_after_its_target_and_keeps_its_parameters():
    named = dynamodb("Scan", {"TableName": "inventory-alice", "Limit": 2, "ExclusiveStartKey": {"sku": {"S": "A-1"}}})
    assert named.operation == "Scan"
    assert named.params == {"TableName": "inventory-alice", "Limit": 2, "ExclusiveStartKey": {"sku": {"S": "A-1"}}}
    assert named.request == named.params


def test_a_target_the_model_does_not_have_is_unknown_and_keeps_the_raw_target():
    named = dynamodb("DropEverything", {"TableName": "inventory-alice"})
    assert named.operation == "Unknown" and named.request is None
    assert named.params == {"target": "DynamoDB_20120810.DropEverything"}


def test_a_query_request_is_named_after_its_action_in_the_form_body_or_the_query_string():
    form = b"Action=CreateUser&UserName=bob&Version=2010-05-08"
    environ, body = request("POST", "/", form, content_type="application/x-www-form-urlencoded")
    named = name_request("iam", environ, body)
    assert (named.operation, named.params, named.resources) == ("CreateUser", {"UserName": "bob"}, {"UserName": "bob"})
    environ, body = request("GET", "/?Action=DescribeInstances&InstanceId.1=i-1")
    assert name_request("ec2", environ, body).operation == "DescribeInstances"
    environ, body = request("GET", "/?Action=MineBitcoin")
    assert name_request("ec2", environ, body).params == {"action": "MineBitcoin"}


def test_a_rest_json_request_is_named_by_its_method_and_path_and_its_labels_become_parameters():
    environ, body = request("POST", "/2015-03-31/functions/my-function/invocations", b'{"order": 1}')
    named = name_request("awslambda", environ, body)
    assert named.operation == "Invoke"
    assert named.params == {"FunctionName": "my-function", "Payload": {"order": 1}}
    assert named.resources == {"FunctionName": "my-function"}
    environ, body = request("GET", "/2015-03-31/functions/my-function")
    assert name_request("awslambda", environ, body).operation == "GetFunction"


def test_the_most_specific_rest_template_wins_and_a_path_no_template_matches_is_unknown():
    assert name_request("apigateway", *request("POST", "/restapis?mode=import")).operation == "ImportRestApi"
    assert name_request("apigateway", *request("POST", "/restapis")).operation == "CreateRestApi"
    named = name_request("apigateway", *request("GET", "/restapis/abc/resources/r1/methods/GET"))
    assert (named.operation, named.params["httpMethod"]) == ("GetMethod", "GET")
    assert name_request("apigateway", *request("GET", "/no/such/route")).operation == "Unknown"


def test_resources_are_top_level_names_arns_and_ids_not_attribute_names():
    named = dynamodb("PutItem", {"TableName": "inventory-alice", "Item": {"sku": {"S": "A-1"}}})
    assert named.resources == {"TableName": "inventory-alice"}
    named = dynamodb("Query", {"TableName": "t", "IndexName": "by-qty", "ExclusiveStartKey": {"sku": {"S": "A"}}})
    assert named.resources == {"TableName": "t", "IndexName": "by-qty"}


def test_the_tables_of_a_batch_are_its_resources_and_its_requests_are_counted_per_table():
    put = {"PutRequest": {"Item": {"sku": {"S": "A-1"}}}}
    delete = {"DeleteRequest": {"Key": {"sku": {"S": "A-2"}}}}
    named = dynamodb("BatchWriteItem", {"RequestItems": {"inventory-alice": [put, put, delete]}})
    assert named.resources == {"TableName": "inventory-alice"}
    assert named.params["request_counts"] == {"inventory-alice": {"PutRequest": 2, "DeleteRequest": 1}}
    named = dynamodb("BatchWriteItem", {"RequestItems": {"a": [put], "b": [put]}})
    assert named.resources == {"TableNames": "a,b"}


def test_a_body_too_large_to_read_or_not_json_leaves_the_request_unread():
    environ, _ = request("POST", "/", headers={"X-Amz-Target": "DynamoDB_20120810.PutItem"})
    named = name_request("dynamodb", environ, None)
    assert (named.operation, named.request) == ("PutItem", None)
    named = name_request("dynamodb", environ, b"[" * 5000)
    assert (named.operation, named.params, named.request) == ("PutItem", {"body": "[not JSON]"}, None)


DYNAMODB_ERROR = b'{"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}'
REST_ERROR_HEADER = ("x-amzn-ErrorType", "ResourceNotFoundException:http://internal")


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (DYNAMODB_ERROR, [], "ConditionalCheckFailedException"),
        (b'{"message": "x"}', [REST_ERROR_HEADER], "ResourceNotFoundException"),
        (b"<ErrorResponse><Error><Code>NoSuchEntity</Code></Error></ErrorResponse>", [], "NoSuchEntity"),
        (b"not an error document", [], None),
    ],
)
def test_error_codes_are_read_from_a_json_type_a_header_or_an_xml_code(body, headers, code):
    assert error_code(body, headers) == code
