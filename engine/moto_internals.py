"""Everything Lab Grader knows about moto's insides, in one place.

moto is a pinned dependency; what we use of it beyond its WSGI app is its
request dispatch (which backend a request goes to) and the S3 backend's state.
A moto upgrade is one run of tests/unit/engine/test_moto_internals.py and the
containment suite away from being known to work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A request the dispatcher cannot place (no signature, no known host) goes to
# S3, as moto itself does (its DEFAULT_SERVICE_REGION).
_DEFAULT_BACKEND = "s3"
# moto's own control API and the EC2 instance metadata endpoint: never a lab's service.
_INTERNAL_BACKENDS = {"moto_api", "instance_metadata"}


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
            return self.get_backend_for_host(host) or "unknown"

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

    return GatedDispatcher(create_backend_app)


def service_of(app, environ: dict[str, Any]) -> str | None:
    """The backend the gate will send this request to; None when app is not the gate."""
    backend_of = getattr(app, "backend_of", None)
    return backend_of(environ) if callable(backend_of) else None


def warm_up(app) -> None:
    """Build the S3 handler (moto builds it on the first request) and reset the state."""
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
    reset_state()


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
