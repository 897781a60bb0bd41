"""The demo broker (kombu's filesystem transport) keeps every folder under var/: nothing it
writes lands in the checkout's root, and nothing it wrote there is in git."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


def test_no_broker_control_files_are_in_git_and_the_folder_is_ignored():
    assert git("ls-files", "control") == ""
    assert git("check-ignore", "--no-index", "control/grading.exchange").strip() == "control/grading.exchange"


def test_a_task_sent_through_the_filesystem_broker_writes_only_under_the_broker_dir(tmp_path):
    """Publish a task from an empty working directory: the exchange table (kombu's
    `control_folder`, `control/` relative to the cwd by default) must land in the broker dir."""
    cwd, broker = tmp_path / "cwd", tmp_path / "broker"
    cwd.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    code = (
        "import django; django.setup()\n"
        "from submissions.tasks import grade_submission\n"
        "grade_submission.apply_async((1,), queue='grading')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={
            **env,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "grader.settings",
            "BROKER_DIR": str(broker),
            "SECRET_KEY": "housekeeping",
        },
        check=True,
        timeout=120,
    )
    assert list(cwd.iterdir()) == []
    assert (broker / "control" / "grading.exchange").is_file()
    assert len(list((broker / "queue").iterdir())) == 1


def test_the_default_broker_dir_is_under_var():
    code = "import json; from django.conf import settings\nprint(json.dumps(settings.CELERY_BROKER_TRANSPORT_OPTIONS))"
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "BROKER_DIR")}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + code],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "grader.settings", "SECRET_KEY": "housekeeping"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    options = json.loads(out.strip().splitlines()[-1])
    folders = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    for folder in folders:
        assert Path(options[folder]).is_relative_to(REPO / "var"), (folder, options[folder])
