"""A cgroup per run: one memory budget and one process budget for the whole run.

RLIMIT_AS bounds each process, not the run: 64 processes of 500 MiB each is
32 GB. A cgroup bounds their sum. Used when the machine lets us make one
(cgroup v1 controllers, or a delegated cgroup v2 tree); otherwise the run
falls back to rlimits alone and the record says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

V2_ROOT = Path("/sys/fs/cgroup")
V1_MEMORY = Path("/sys/fs/cgroup/memory")
V1_PIDS = Path("/sys/fs/cgroup/pids")
_PREFIX = "labgrader"


class RunCgroup:
    def __init__(self, directories: list[Path], memory_events: Path, oom_field: str):
        self.directories = directories
        self.memory_events = memory_events
        self.oom_field = oom_field

    def enter_prefix(self) -> list[str]:
        """A command prefix that moves itself into the cgroup, then execs the rest.

        It runs before the sandbox starts, so every process of the run is born inside.
        """
        script = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "cgroup-enter", *[str(d / "cgroup.procs") for d in self.directories], "--"]

    def oom_killed(self) -> bool:
        try:
            for line in self.memory_events.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == self.oom_field and int(value) > 0:
                    return True
        except OSError:
            pass
        return False

    def processes(self) -> list[int]:
        """Every process in the cgroup: all of the run's, since they were born inside
        and only root may move a process to another cgroup."""
        try:
            return [int(pid) for pid in (self.directories[0] / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_processes(self) -> None:
        """SIGKILL whatever is left in the cgroup until it is empty (a fork bomb races us)."""
        for _ in range(100):
            pids = self.processes()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> bool:
        """True when every directory is gone, which proves the run has no process left."""
        removed = True
        for directory in self.directories:
            pause = 0.0005
            for _ in range(30):  # the kernel frees a cgroup a moment after its last process exits
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
            else:
                removed = False
        return removed


def _fresh_dir(path: Path) -> Path:
    with contextlib.suppress(FileNotFoundError, OSError):
        path.rmdir()  # left by a run that crashed
    path.mkdir(parents=True)
    return path


def _v2(name: str, memory_bytes: int, processes: int) -> RunCgroup:
    parent = V2_ROOT / _PREFIX
    parent.mkdir(exist_ok=True)
    (parent / "cgroup.subtree_control").write_text("+memory +pids")
    directory = _fresh_dir(parent / name)
    (directory / "memory.max").write_text(str(memory_bytes))
    if (directory / "memory.swap.max").exists():
        (directory / "memory.swap.max").write_text("0")
    (directory / "pids.max").write_text(str(processes))
    return RunCgroup([directory], directory / "memory.events", "oom_kill")


def _v1(name: str, memory_bytes: int, processes: int) -> RunCgroup:
    memory = _fresh_dir(V1_MEMORY / f"{_PREFIX}-{name}")
    (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
    directories = [memory]
    if V1_PIDS.is_dir():
        pids = _fresh_dir(V1_PIDS / f"{_PREFIX}-{name}")
        (pids / "pids.max").write_text(str(processes))
        directories.append(pids)
    return RunCgroup(directories, memory / "memory.oom_control", "oom_kill")


def available_kind() -> str | None:
    if (V2_ROOT / "cgroup.controllers").exists() and "memory" in (V2_ROOT / "cgroup.controllers").read_text():
        return "v2"
    if (V1_MEMORY / "memory.limit_in_bytes").exists():
        return "v1"
    return None


def make_cgroup(name: str, memory_bytes: int, processes: int) -> RunCgroup | None:
    """A fresh cgroup, or None where none can be made (not root, read-only cgroupfs).

    The caller removes it (RunCgroup.remove) once its processes are gone.
    """
    if os.geteuid() != 0 or os.environ.get("LABGRADER_CGROUPS", "True") != "True":
        return None
    kind = available_kind()
    try:
        if kind == "v2":
            return _v2(name, memory_bytes, processes)
        if kind == "v1":
            return _v1(name, memory_bytes, processes)
    except OSError:
        pass
    return None
