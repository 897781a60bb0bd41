"""The production topology as real processes on this machine, for end-to-end tests.

PostgreSQL (a fresh database), Redis (a database index of its own), gunicorn
serving the site, and Celery worker processes. No mocks: tests talk HTTP.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis
import requests

from engine import check_host, motoserver, runner, script_host, zygote

REPO = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def die_with_the_test_process() -> None:
    """A test run that is itself killed (a timeout, ^C twice) must not leave a stack behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


PG_ADMIN = os.environ.get("E2E_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, name: str, log_dir: Path, redis_db: int = 13, own_redis: bool = False, **settings: str):
        self.name = name
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"labgrader_{name}"
        # own_redis: a private redis-server the test may restart (it keeps nothing on disk).
        self.redis_port = free_port() if own_redis else None
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0" if own_redis else f"{REDIS_BASE}/{redis_db}"
        self.redis_process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + self.database,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": f"e2e-{name}-secret",
            "DEBUG": "False",
            "LABGRADER_SLOT_UID_BASE": "65000",
            "LABGRADER_SLOTS": "16",
            "PYTHONPATH": str(REPO),
            **settings,
        }
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.extra: list[subprocess.Popen] = []

    # -- lifecycle ---------------------------------------------------------
    def start(self, workers: int = 2, web_workers: int = 2, web_threads: int = 1) -> Stack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._fresh_database()
        if self.redis_port:
            self.start_redis()
        redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.manage("seed_demo", "--no-grading")
        # Load and fault tests upload far more than a student's hourly allowance.
        self.shell("from submissions.models import Assignment\nAssignment.objects.update(max_per_hour=None)")
        gunicorn = ["gunicorn", "grader.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(web_workers)]
        gunicorn += ["--threads", str(web_threads)]  # more than 1: gthread workers, as in compose
        self.web = self._spawn("web", [sys.executable, "-m", *gunicorn, "--timeout", "60"])
        for index in range(workers):
            self.start_worker(index)
        self._wait_for_web()
        return self

    def start_worker(self, index: int, queues: str = "grading,admin", **env: str) -> subprocess.Popen:
        name = f"worker{index}"
        options = ["--queues", queues, "--concurrency", "1", "--loglevel", "INFO", "--without-mingle"]
        options += ["--hostname", f"w{index}-{self.name}@%h", "--without-gossip"]
        worker = self._spawn(name, [sys.executable, "-m", "celery", "-A", "grader", "worker", *options], env)
        self.workers.append(worker)
        self._wait_for_log(name, "ready.")
        return worker

    def kill_worker(self, worker: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        os.killpg(worker.pid, sig)
        worker.wait(timeout=30)
        self.workers.remove(worker)

    def start_beat(self) -> None:
        schedule = str(self.log_dir / "celerybeat-schedule")
        command = [sys.executable, "-m", "celery", "-A", "grader", "beat", "--loglevel", "INFO", "-s", schedule]
        self.extra.append(self._spawn("beat", command))

    def start_redis(self) -> None:
        command = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        self.redis_process = self._spawn("redis", [*command, "--save", "", "--appendonly", "no"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.redis_port).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def restart_redis(self) -> None:
        """Kill Redis (losing every queued message) and start it again on the same port."""
        self.redis_process.kill()
        self.redis_process.wait()
        self.start_redis()

    def worker_running_a_sandbox(self) -> subprocess.Popen | None:
        """The worker whose process tree holds a sandbox (bwrap) right now, if any."""
        for worker in self.workers:
            if any(_is_bwrap(pid) for pid in descendants(worker.pid)):
                return worker
        return None

    def stop(self) -> None:
        processes = [p for p in [self.web, *self.workers, *self.extra, self.redis_process] if p is not None]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.sweep_what_killed_workers_left()

    @staticmethod
    def sweep_what_killed_workers_left() -> None:
        """Run directories and zygote control directories of workers killed mid-run: the
        next grading process would remove them (engine's own sweeps); none comes after us."""
        runner.remove_orphaned_run_dirs(Path(tempfile.gettempdir()))
        for prefix in (motoserver.CONTROL_PREFIX, check_host.CONTROL_PREFIX, script_host.CONTROL_PREFIX):
            zygote.remove_stale_control_dirs(prefix)

    # -- helpers -----------------------------------------------------------
    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def shell(self, code: str) -> str:
        """Run Django code against the stack's database; returns what it printed."""
        return self.manage("shell", "-c", code)

    def client(self, username: str, password: str = "demo") -> WebClient:
        return WebClient(self.url).login(username, password)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "w")
        environment = {**self.env, **(env or {})}
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_the_test_process,
        )

    def _fresh_database(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.database}"')

    def _wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/login/", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or its workers are still loading the app
            time.sleep(0.2)
        raise RuntimeError("web did not come up:\n" + self.log("web"))

    def _wait_for_log(self, name: str, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} never said {text!r}:\n" + self.log(name))


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _is_bwrap(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip() == "bwrap"
    except OSError:
        return False


class WebClient:
    """A browser-less user of the site: a session, CSRF tokens, uploads."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def login(self, username: str, password: str) -> WebClient:
        self.get("/login/")
        response = self.post("/login/", {"username": username, "password": password, "next": "/"})
        if "/login/" in response.url:
            raise AssertionError(f"login as {username} failed")
        return self

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=30, **kwargs)

    def post(self, path: str, data: dict | None = None, files=None) -> requests.Response:
        token = self.session.cookies.get("csrftoken") or self._token_from(path)
        return self.session.post(
            self.base_url + path,
            data={"csrfmiddlewaretoken": token, **(data or {})},
            files=files,
            headers={"Referer": self.base_url + path},
            timeout=60,
        )

    def _token_from(self, path: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path).text)
        return match.group(1) if match else ""

    def upload(self, assignment_id: int, *paths: Path) -> int:
        """Submit files; returns the new submission's id."""
        self.get(f"/assignments/{assignment_id}/")
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        response = self.post(f"/assignments/{assignment_id}/submit/", files=files)
        match = re.search(r"/submissions/(\d+)/$", response.url)
        if not match:
            raise AssertionError(f"upload was not accepted: {response.url}")
        return int(match.group(1))

    def wait_until_finished(self, submission_id: int, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/submissions/{submission_id}/status/").json()
            if status["finished"]:
                return status
            time.sleep(0.3)
        raise AssertionError(f"submission {submission_id} not finished after {timeout} s: {status}")
