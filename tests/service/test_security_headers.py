"""Headers of the web side: a strict CSP everywhere, private no-store caching for
logged-in users, HSTS from the environment; templates that a strict CSP allows."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import PASSWORD, make_submission

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*REPO.glob("templates/**/*.html"), *REPO.glob("submissions/templates/**/*.html")])


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.fixture
def alice(client, world):
    client.login(username="alice", password=PASSWORD)
    return client


def test_every_logged_in_page_and_json_answer_is_private_and_not_stored(alice, world):
    submission = make_submission(world.assignment, world.alice, score=6)
    for url in (
        reverse("home"),
        reverse("assignment", args=[world.assignment.pk]),
        reverse("submission", args=[submission.pk]),
        reverse("submission_status", args=[submission.pk]),
        "/no-such-page/",
    ):
        cache_control = {d.strip() for d in alice.get(url)["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= cache_control, url


def test_every_answer_carries_a_strict_content_security_policy(client, world):
    anonymous = client.get(reverse("login"))
    client.login(username="alice", password=PASSWORD)
    for response in (anonymous, client.get(reverse("home")), client.get("/no-such-page/")):
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == "default-src 'self'"
        assert policy["script-src"] == "script-src 'self'"
        assert policy["style-src"] == "style-src 'self'"
        assert policy["object-src"] == "object-src 'none'"
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert policy["base-uri"] == "base-uri 'none'"
        assert policy["form-action"] == "form-action 'self'"
        assert "unsafe" not in response["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_needs_inline_script_or_style(template):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "<style> element"
    assert not re.search(r"\sstyle=", html), "style attribute"
    assert not re.search(r"\son[a-z]+=", html), "event handler attribute"
    assert "javascript:" not in html


def settings_under(env: dict[str, str]) -> str:
    code = (
        "from grader import settings as s\n"
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_hsts_is_off_by_default_and_set_from_the_environment():
    assert settings_under({}) == "0 False False"
    env = {"SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True", "SECURE_HSTS_PRELOAD": "False"}
    assert settings_under(env) == "31536000 True False"


def test_an_https_request_gets_hsts_when_it_is_set(client, world, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
