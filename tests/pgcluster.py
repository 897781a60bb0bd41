"""A throwaway PostgreSQL cluster for the tests: initdb in a directory of their own, a port of
their own, a random password, and nothing of the machine's PostgreSQL touched (no role,
no database, no password, no server started or stopped).

    url=$(python -m tests.pgcluster start DIR)   # prints the superuser's URL
    python -m tests.pgcluster stop DIR           # stops the server and removes DIR

scripts/test.sh starts one for the whole run; the multi-host test starts one inside a
network namespace (`prefix` runs every server command through `ip netns exec`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def binary(name: str) -> str:
    """From the newest /usr/lib/postgresql/<version>/bin (Debian keeps them off PATH), else PATH."""
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    found = versions[-1] if versions else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server package (scripts/setup.sh does)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(
        self,
        directory: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        clients: str = "127.0.0.1/32",
        prefix: list[str] | None = None,
        user: str = "postgres",
    ):
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.host = host
        self.port = port or free_port(host)
        self.clients = clients  # the address range allowed to connect (with the password)
        self.prefix = prefix or []
        self.superuser = user
        self.password = secrets.token_urlsafe(18)

    @property
    def url(self) -> str:
        return f"postgresql://{self.superuser}:{self.password}@{self.host}:{self.port}/postgres"

    def _as_owner(self) -> list[str]:
        """initdb and postgres refuse to run as root: as root, run them as the `postgres` user."""
        if os.geteuid() != 0:
            return []
        owner = pwd.getpwnam("postgres")
        os.chown(self.directory, owner.pw_uid, owner.pw_gid)
        return ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--init-groups"]

    def start(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        as_owner = self._as_owner()
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if as_owner:
            shutil.chown(pwfile, "postgres")
        initdb = [binary("initdb"), "-D", str(self.data), "-U", self.superuser, f"--pwfile={pwfile}"]
        initdb += ["--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        subprocess.run([*as_owner, *initdb], check=True, capture_output=True, timeout=120)
        pwfile.unlink()
        (self.data / "pg_hba.conf").write_text(
            f"local all all scram-sha-256\nhost all all {self.clients} scram-sha-256\n"
        )
        # Throwaway data: no durability wanted, and the socket in our directory, not /run/postgresql.
        options = f"-c listen_addresses={self.host} -p {self.port} -k {self.directory}"
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        log = self.directory / "server.log"
        pg_ctl = [binary("pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        result = subprocess.run([*self.prefix, *as_owner, *pg_ctl], capture_output=True, text=True, timeout=90)
        if result.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}{_tail(log)}")
        marker = self.directory / "cluster.json"  # what stop() checks before it removes the directory
        marker.write_text(json.dumps({"url": self.url}))
        marker.chmod(0o600)
        return self.url

    def stop(self) -> None:
        stop(self.directory)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


def server_pid(directory: Path) -> int | None:
    try:
        return int((Path(directory) / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop(directory: Path) -> None:
    """Stop the server (fast, then by force) and remove the directory. Safe to call twice."""
    directory = Path(directory)
    if not directory.exists():
        return
    ours = (directory / "cluster.json").exists() or (directory / "data" / "PG_VERSION").exists()
    if not ours and any(p.name not in ("data", "pwfile", "server.log") for p in directory.iterdir()):
        raise RuntimeError(f"{directory} does not look like a throwaway cluster: left alone")
    pid = server_pid(directory)
    # fast shutdown, then immediate, then SIGKILL (the backends follow their postmaster)
    for sig, wait_s in ((signal.SIGINT, 20), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
        if pid is None or not _alive(pid):
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
    shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        sys.stderr.write("usage: python -m tests.pgcluster start|stop DIR\n")
        return 2
    command, directory = argv
    if command == "stop":
        stop(Path(directory))
        return 0
    cluster = Cluster(Path(directory))
    try:
        print(cluster.start())
    except BaseException:
        stop(Path(directory))
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
