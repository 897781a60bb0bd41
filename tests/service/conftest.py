import pytest

from tests.factories import make_world


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture
def enqueued(monkeypatch):
    """The one seam of these tests, the broker: what would have been sent to Celery (and no backlog)."""
    from submissions import services, tasks

    monkeypatch.setattr(services, "broker_backlog", lambda queue: 0)
    sent: list[tuple[str, tuple, dict]] = []
    for name in ("grade_submission", "recheck_submission", "recheck_submissions", "reexecute_submission"):
        task = getattr(tasks, name)
        monkeypatch.setattr(
            task, "apply_async", lambda args, _name=name, **options: sent.append((_name, tuple(args), options))
        )
    return sent


@pytest.fixture(autouse=True)
def login_throttle_off(settings):
    # client.login() authenticates without a request, which django-axes refuses;
    # tests/service/test_login_throttle.py turns the throttle back on.
    settings.AXES_ENABLED = False
