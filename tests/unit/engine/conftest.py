import pytest

from engine import botocore_ops, moto_internals


@pytest.fixture(scope="module")
def app():
    """moto's dispatcher for S3 and DynamoDB, in this process, as a run's mock builds it."""
    app = moto_internals.gated_dispatcher(frozenset({"s3", "dynamodb"}))
    moto_internals.warm_up(app)
    botocore_ops.warm(frozenset({"dynamodb"}))
    yield app
    moto_internals.reset_state()
