"""403, 404, 500 and a refused CSRF token: pages in the site's layout with a way back;
a 500 also leaves its traceback in the server's log (stderr)."""

import os
import subprocess
import sys
from pathlib import Path

from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

REPO = Path(__file__).resolve().parents[2]
LAYOUT = 'href="/static/submissions/site.css"'
WAY_BACK = '<a class="button" href="/">Back to your courses</a>'


def test_a_missing_page_is_shown_in_the_sites_layout_with_a_way_back(client, world):
    client.login(username="alice", password=PASSWORD)
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert LAYOUT in page and WAY_BACK in page and "Page not found" in page
    assert "alice" in page, "the header still shows who is logged in"


def test_a_forbidden_page_is_shown_in_the_sites_layout_with_a_way_back(client, world):
    client.login(username="alice", password=PASSWORD)
    response = client.get(reverse("gradebook", args=[world.assignment.pk]))
    page = response.content.decode()
    assert response.status_code == 403
    assert LAYOUT in page and WAY_BACK in page and "not allowed" in page


def test_a_refused_csrf_token_is_shown_in_the_sites_layout_and_says_to_reload(world):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="alice", password=PASSWORD)
    response = strict.post(reverse("submit", args=[world.assignment.pk]), {})
    page = response.content.decode()
    assert response.status_code == 403
    assert LAYOUT in page and WAY_BACK in page and "reload the page" in page


def test_a_server_error_is_shown_in_the_layout_and_its_traceback_goes_to_the_servers_stderr():
    # A process of its own: the logging configuration under test is the one
    # settings.py installs, writing to the real stderr, not pytest's capture.
    code = (
        "import django\n"
        "django.setup()\n"
        "from django.test import Client\n"
        "from django.test.utils import override_settings\n"
        "with override_settings(ROOT_URLCONF='tests.service.failing_urls'):\n"
        "    response = Client(raise_request_exception=False).get('/broken/')\n"
        "print('STATUS', response.status_code)\n"
        "print(response.content.decode())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "grader.settings", "DEBUG": "False", "SECRET_KEY": "x" * 50}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "STATUS 500" in result.stdout
    assert LAYOUT in result.stdout and WAY_BACK in result.stdout and "went wrong on our side" in result.stdout
    assert "Internal Server Error: /broken/" in result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: a bug in a view" in result.stderr
