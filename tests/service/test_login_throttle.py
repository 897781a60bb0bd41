"""Login throttling per username and per client address (django-axes), refused before
the password is hashed; hashing at idle CPU priority; password validators; the client
address behind the proxy."""

import os
import threading

import pytest
from django.contrib.auth import password_validation
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from grader.client_address import client_address
from grader.passwords import IDLE_NICE, IdlePriorityPBKDF2PasswordHasher, hashing_pool
from tests.factories import PASSWORD


@pytest.fixture
def throttle(settings):
    # The other service tests log in with client.login(), which passes no request;
    # axes refuses that, so tests/service/conftest.py turns it off except here.
    settings.AXES_ENABLED = True
    return settings


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """Every username whose password was actually checked (hashed)."""
    checked: list[str] = []
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return checked


def attempt(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_sixty_wrong_passwords_then_the_right_one_does_not_log_in(client, world, throttle):
    statuses = [attempt(client, "alice", f"guess-{n}").status_code for n in range(60)]
    assert statuses[:9] == [200] * 9 and set(statuses[10:]) == {429}
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429 and not logged_in(client)
    assert "logins are refused for 15 minutes" in response.content.decode()


def test_a_locked_out_login_is_refused_before_its_password_is_hashed(client, world, throttle, password_checks):
    for n in range(30):
        attempt(client, "alice", f"guess-{n}")
    assert len(password_checks) == throttle.AXES_FAILURE_LIMIT


def test_the_username_is_locked_from_every_address(client, world, throttle):
    for n in range(10):
        attempt(client, "alice", f"guess-{n}", address=f"10.0.1.{n}")
    attempt(client, "alice", PASSWORD, address="10.0.2.1")
    assert not logged_in(client)


def test_an_address_is_locked_for_every_username(client, world, throttle):
    for n in range(10):
        attempt(client, f"nobody{n}", "Winter2024!", address="10.0.3.1")
    attempt(client, "bob", PASSWORD, address="10.0.3.1")
    assert not logged_in(client)
    attempt(client, "bob", PASSWORD, address="10.0.3.2")
    assert logged_in(client)


def test_a_right_password_below_the_limit_logs_in(client, world, throttle):
    for n in range(throttle.AXES_FAILURE_LIMIT - 1):
        attempt(client, "alice", f"typo-{n}")
    attempt(client, "alice", PASSWORD)
    assert logged_in(client)


def test_a_login_of_ones_own_does_not_wipe_the_guesses_at_someone_else(client, world, throttle):
    # Else a student could guess at alice's password without end, logging in as
    # themselves between rounds of guesses from the same address.
    for n in range(throttle.AXES_FAILURE_LIMIT - 1):
        attempt(client, "alice", f"guess-{n}", address="10.0.4.1")
    attempt(client, "bob", PASSWORD, address="10.0.4.1")
    assert logged_in(client)
    client.logout()
    attempt(client, "alice", "one-more-guess", address="10.0.4.1")
    attempt(client, "alice", PASSWORD, address="10.0.4.2")
    assert not logged_in(client)


@pytest.mark.parametrize(
    "proxies, forwarded, expected",
    [
        (0, None, "10.9.9.9"),
        (0, "203.0.113.5", "10.9.9.9"),  # no proxy trusted: the header is the client's own claim
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # what the client itself sent is ignored
        (2, "1.2.3.4, 203.0.113.5, 10.1.1.1", "203.0.113.5"),
        (1, None, "10.9.9.9"),
    ],
)
def test_the_client_address_is_the_one_the_trusted_proxy_saw(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9", **headers)
    assert client_address(request) == expected


def test_weak_passwords_are_refused_by_the_validators(world):
    for weak in ("demo", "password123", "12345678901", "qwertyuiop"):
        with pytest.raises(ValidationError):
            password_validation.validate_password(weak, world.alice)
    password_validation.validate_password("slow-otter-carries-9-lanterns", world.alice)
    form = SetPasswordForm(world.alice, {"new_password1": "demo", "new_password2": "demo"})
    assert not form.is_valid()


def test_the_demo_seed_keeps_its_password_demo(client, db):
    call_command("seed_demo", "--no-grading", stdout=open("/dev/null", "w"))
    client.post(reverse("login"), {"username": "alice", "password": "demo"})
    assert logged_in(client)


def test_passwords_are_hashed_on_an_idle_priority_thread_of_their_own():
    def priority_and_thread() -> tuple[int, int]:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), threading.get_native_id()

    hashing_priority, hashing_thread = hashing_pool().submit(priority_and_thread).result()
    own_priority, own_thread = priority_and_thread()
    assert hashing_priority == IDLE_NICE and hashing_thread != own_thread
    assert own_priority < IDLE_NICE, "the caller's own priority is untouched"


def test_the_idle_priority_hasher_makes_and_reads_djangos_own_pbkdf2_hashes():
    ours, django = IdlePriorityPBKDF2PasswordHasher(), PBKDF2PasswordHasher()
    assert ours.algorithm == django.algorithm
    made_by_django = django.encode("slow-otter-9", django.salt(), iterations=1000)
    assert ours.verify("slow-otter-9", made_by_django) and not ours.verify("wrong", made_by_django)
    assert django.verify("slow-otter-9", ours.encode("slow-otter-9", ours.salt(), iterations=1000))
