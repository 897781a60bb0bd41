"""The production topology on three "machines" of this one, for tests/multihost and
bench/central_cost.py.

- The web host: a network namespace holding a bridge (10.213.0.1/24), a throwaway
  PostgreSQL cluster (tests/pgcluster.py) and a private redis-server, both listening
  on 10.213.0.1 only and with passwords, gunicorn and Celery beat. Its files are the
  machine's: the checkout, var/, the cluster's directory under /tmp.
- Worker hosts: a network namespace each, joined to the web host's bridge by a veth
  pair (10.213.0.11, .12, ...), running one Celery worker inside a root of its own
  (tests/multihost/worker_host.py): read-only code, the checkout's var/ hidden, its own
  /tmp (slot locks, job directories), /proc and pid namespace. It reaches PostgreSQL
  and Redis only over its link, as a worker machine would over the network.

The addresses exist only inside these namespaces; nothing is added to the machine's
own network namespace. The test process (in that namespace) reaches the site through a
relay: socat on 127.0.0.1 to a unix socket gunicorn also listens on.

Every namespace, process, cgroup and directory is removed by stop(), also after a
failure; namespaces left by a run that was killed are removed by the next one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.pgcluster import Cluster, binary
from tests.pgcluster import stop as stop_cluster
from tests.stack import REPO, Stack, descendants

SUBNET = "10.213.0"  # a /24 that exists only inside our namespaces
WEB_ADDRESS = f"{SUBNET}.1"
NETNS_PREFIX = "labgrader-mh-"
# Processes we start end if the test process is killed (SIGKILL: no finalizer runs); what
# is left (PostgreSQL, daemonized by pg_ctl) goes with its namespace on the next run.
DIE_WITH_US = ["setpriv", "--pdeathsig", "KILL"]
CGROUP_ROOTS = (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/labgrader"))


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)


def netns_inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


def processes_in_netns(name: str) -> set[int]:
    """Every process whose network namespace is NAME (what `ip netns pids` lists)."""
    inode, found = netns_inode(name), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                    found.add(int(entry))
    return found


def netns_supported() -> str | None:
    """Why the multi-host topology cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, mounts, per-run uids)"
    for tool in ("ip", "socat", "redis-server", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    try:
        binary("initdb")
    except RuntimeError as error:
        return str(error)
    probe = f"{NETNS_PREFIX}probe-{os.getpid()}"
    result = run("ip", "netns", "add", probe, check=False)
    run("ip", "netns", "del", probe, check=False)
    return None if result.returncode == 0 else f"cannot create a network namespace: {result.stderr.strip()}"


def remove_stale_namespaces() -> None:
    """Namespaces and directories of runs whose test process is gone (killed before it could clean up)."""
    for name in run("ip", "netns", "list").stdout.split():
        if not name.startswith(NETNS_PREFIX) or name.count("-") < 3:
            continue
        owner = name[len(NETNS_PREFIX) :].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            for pid in processes_in_netns(name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run("ip", "netns", "del", name, check=False)
    for directory in Path(tempfile.gettempdir()).glob(f"{NETNS_PREFIX}*"):
        owner = directory.name[len(NETNS_PREFIX) :].split("-")[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            with contextlib.suppress(OSError, RuntimeError):
                stop_cluster(directory / "pg")
            shutil.rmtree(directory, ignore_errors=True)


class Network:
    """The web host's namespace with a bridge, and a namespace per worker host linked to it."""

    def __init__(self, workers: int):
        self.run_id = f"{NETNS_PREFIX}{os.getpid()}-{secrets.token_hex(2)}"
        self.web = f"{self.run_id}-web"
        self.workers = [f"{self.run_id}-w{index + 1}" for index in range(workers)]
        self.created: list[str] = []

    def address(self, worker_index: int) -> str:
        return f"{SUBNET}.{11 + worker_index}"

    def create(self) -> None:
        remove_stale_namespaces()
        for name in [self.web, *self.workers]:
            run("ip", "netns", "add", name)
            self.created.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        run("ip", "-n", self.web, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.web, "addr", "add", f"{WEB_ADDRESS}/24", "dev", "br0")
        run("ip", "-n", self.web, "link", "set", "br0", "up")
        for index, name in enumerate(self.workers):
            # Created straight inside the two namespaces: no device ever appears in the machine's.
            port = f"port{index + 1}"
            run("ip", "link", "add", port, "netns", self.web, "type", "veth", "peer", "name", "eth0", "netns", name)
            run("ip", "-n", self.web, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", name, "addr", "add", f"{self.address(index)}/24", "dev", "eth0")
            run("ip", "-n", name, "link", "set", "eth0", "up")

    def exec_in(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", name]

    def destroy(self) -> None:
        for name in reversed(self.created):
            for pid in processes_in_netns(name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            run("ip", "netns", "del", name, check=False)  # the veth pairs go with their namespaces
        self.created.clear()


class WorkerHost:
    def __init__(self, name: str, netns: str, launcher: subprocess.Popen, slot_uid_base: int, slots: int):
        self.name = name
        self.netns = netns
        self.launcher = launcher
        self.slot_uids = range(slot_uid_base, slot_uid_base + slots)

    def init_pid(self) -> int | None:
        """The host's PID 1 (the launcher's one child), as this machine numbers it."""
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{self.launcher.pid}/task/{self.launcher.pid}/children") as handle:
                return int(handle.read().split()[0])
        return None

    def processes(self) -> set[int]:
        """Every process of the host: its network namespace and everything under its PID 1
        (sandboxes and mocks have network namespaces of their own)."""
        found = processes_in_netns(self.netns)
        for pid in list(found):
            found.update(descendants(pid))
        return found

    def running_a_sandbox(self) -> bool:
        for pid in self.processes():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/comm").read_text().strip() == "bwrap":
                    return True
        return False

    def kill(self) -> set[int]:
        """The machine dies: SIGKILL to every process of the host at once."""
        victims = self.processes()
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.launcher.wait(timeout=15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in victims):
            time.sleep(0.05)
        return victims


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class MultiHostStack(Stack):
    """tests/stack.py's Stack, with the web host and each worker host in namespaces of their own."""

    def __init__(self, name: str, log_dir: Path, workers: int = 2, slot_uid_base: int = 65400, **settings: str):
        super().__init__(name, log_dir, **settings)
        self.network = Network(workers)
        self.base = Path(tempfile.mkdtemp(prefix=f"{NETNS_PREFIX}{os.getpid()}-"))
        self.base.chmod(0o711)  # PostgreSQL's user reaches its directory inside
        self.cluster = Cluster(
            self.base / "pg",
            host=WEB_ADDRESS,
            port=5432,
            clients=f"{SUBNET}.0/24",
            prefix=self.network.exec_in(self.network.web),
            user="labgrader",
        )
        self.redis_password = secrets.token_urlsafe(18)
        self.web_socket = self.base / "web.sock"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"postgres://labgrader:{self.cluster.password}@{WEB_ADDRESS}:5432/labgrader"
        self.redis_url = f"redis://:{self.redis_password}@{WEB_ADDRESS}:6379/0"
        self.settings = settings
        self.env.update(DATABASE_URL=self.database_url, REDIS_URL=self.redis_url)
        self.slot_uid_base = slot_uid_base
        self.hosts: list[WorkerHost] = []
        self.relay: subprocess.Popen | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self, workers: int | None = None, web_workers: int = 2) -> MultiHostStack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (REPO / "var").mkdir(exist_ok=True)  # exists before the worker hosts hide it
        self.network.create()
        self.cluster.start()
        self.sql("CREATE DATABASE labgrader", database="postgres")
        self.start_redis()
        # The worker hosts boot (they need only Redis to say "ready.") while the web host migrates.
        hosts = [self.start_worker_host(i, wait=False) for i in range(workers or len(self.network.workers))]
        self.manage("migrate", "--noinput")
        self.shell(
            "from django.core.management import call_command\n"
            "from submissions.models import Assignment\n"
            "call_command('collectstatic', '--noinput', verbosity=0)\n"
            "call_command('seed_demo', '--no-grading')\n"
            # Load and fault tests upload far more than a student's hourly allowance.
            "Assignment.objects.update(max_per_hour=None)"
        )
        binds = ["--bind", f"{WEB_ADDRESS}:8000", "--bind", f"unix:{self.web_socket}"]
        gunicorn = [sys.executable, "-m", "gunicorn", "grader.wsgi", *binds, "--workers", str(web_workers)]
        self.web = self._spawn("web", [*gunicorn, "--timeout", "60"])
        relay = [*DIE_WITH_US, "socat", f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork"]
        relay.append(f"UNIX-CONNECT:{self.web_socket}")
        self.relay = subprocess.Popen(
            relay, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        for host in hosts:
            self._wait_for_log(host.name, "ready.")
        self._wait_for_web()
        return self

    def start_worker_host(self, index: int, slots: int = 4, wait: bool = True) -> WorkerHost:
        name = f"worker-{index + 1}"
        netns = self.network.workers[index]
        uid_base = self.slot_uid_base + 100 * index  # one kernel: each host's slot uids apart
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
            "LANG": "C.UTF-8",
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": self.env["SECRET_KEY"],
            "DEBUG": "False",
            "LABGRADER_SLOT_UID_BASE": str(uid_base),
            "LABGRADER_SLOTS": str(slots),
            **{key: value for key, value in self.settings.items() if key.startswith(("GRADING_", "SWEEP_"))},
        }
        code = self.code_paths()
        hidden = [str(REPO / "var"), str(REPO / "test-artifacts")]
        launcher = [sys.executable, "-m", "tests.multihost.worker_host", "--netns", netns, "--hostname", name]
        launcher += [arg for path in code for arg in ("--code", path)]
        launcher += [arg for path in hidden for arg in ("--hide", path)]
        celery = [sys.executable, "-m", "celery", "-A", "grader", "worker", "--queues", "grading,admin"]
        celery += ["--concurrency", "1", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
        celery += ["--hostname", "grading@%h"]
        log = open(self.log_dir / f"{name}.log", "w")
        process = subprocess.Popen(
            [*launcher, "--cwd", str(REPO), "--", *celery],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        host = WorkerHost(name, netns, process, uid_base, slots)
        self.hosts.append(host)
        if wait:
            self._wait_for_log(name, "ready.")
        return host

    @staticmethod
    def code_paths() -> list[str]:
        """What a worker host sees of this machine's files, read-only: the checkout and the Python it runs on."""
        return [str(REPO), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)]

    def start_redis(self) -> None:
        command = ["redis-server", "--bind", WEB_ADDRESS, "--port", "6379", "--requirepass", self.redis_password]
        self.redis_process = self._spawn("redis", [*command, "--save", "", "--appendonly", "no"])
        deadline = time.monotonic() + 20
        ping = ["redis-cli", "-h", WEB_ADDRESS, "-a", self.redis_password, "--no-auth-warning", "ping"]
        while time.monotonic() < deadline:
            if (
                "PONG"
                in subprocess.run(
                    [*self.network.exec_in(self.network.web), *ping], capture_output=True, text=True
                ).stdout
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start:\n" + self.log("redis"))

    def stop(self) -> None:
        """Everything goes, whatever state it is in; the first error is raised at the end."""
        errors: list[BaseException] = []

        def attempt(step, *args):
            try:
                step(*args)
            except BaseException as error:  # noqa: BLE001 - clean up the rest first
                errors.append(error)

        for host in self.hosts:
            attempt(host.kill)
        for process in [self.relay, self.web, *self.extra, self.redis_process]:
            if process is not None:
                attempt(_end, process)
        attempt(self.cluster.stop)
        attempt(self.network.destroy)
        attempt(self._remove_cgroups)
        attempt(shutil.rmtree, self.base, True)
        attempt(self.sweep_what_killed_workers_left)
        if errors:
            raise errors[0]

    # -- helpers -----------------------------------------------------------
    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """A process of the web host."""
        return super()._spawn(name, [*self.network.exec_in(self.network.web), *DIE_WITH_US, *command], env)

    def manage(self, *args: str) -> str:
        command = [*self.network.exec_in(self.network.web), sys.executable, "manage.py", *args]
        result = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def in_worker_host(self, host: WorkerHost, code: str) -> str:
        """Run Python inside a worker host as it is now: its mounts, pid and network namespace."""
        init = host.init_pid()
        enter = ["nsenter", f"--target={init}", "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd"]
        result = subprocess.run([*enter, sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"in {host.name}:\n{result.stdout}{result.stderr}")
        return result.stdout

    def sql(self, query: str, database: str = "labgrader") -> str:
        """One statement through psql on the web host: much cheaper than a Django shell to poll with."""
        url = self.cluster.url.rsplit("/", 1)[0] + "/" + database
        return run(*self.network.exec_in(self.network.web), binary("psql"), "-XAtq", url, "-c", query).stdout

    def _remove_cgroups(self) -> None:
        """Per-run cgroups a killed host left (the engine removes its own otherwise)."""
        for host in self.hosts:
            for uid in host.slot_uids:
                for name in (f"slot-{uid}", f"mock-{uid + 1000}", f"mock-{uid}"):
                    for root in CGROUP_ROOTS:
                        for directory in (root / name, root / f"labgrader-{name}"):
                            with contextlib.suppress(OSError):
                                directory.rmdir()


def _end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
