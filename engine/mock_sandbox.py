"""The bubblewrap sandbox the moto zygote (and so every run's mock) lives in.

The mock is part of the attack surface: a script drives it with any request it
likes. So it sees no network (a network namespace of its own with nothing in
it), no environment, no process of the host, and of the filesystem only what
Python needs to import moto, read-only: the interpreter, its standard library,
the venv's site-packages and this package. Not the checkout, not var/, not the
settings, not other runs' directories (it gets its sockets and files as
descriptors). It keeps CAP_SETUID and CAP_SETGID, and nothing else, so that
each fork can switch to its run's own mock uid.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

_ENGINE_DIR = Path(__file__).resolve().parent
_PACKAGE_ROOT = "/run/labgrader"
_DEVICES = ("null", "zero", "full", "random", "urandom")


def _python_dirs() -> list[str]:
    """The directories the running interpreter imports from, outermost first, deduplicated."""
    candidates = [sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    candidates += [os.path.dirname(os.path.realpath(sys.executable))]
    dirs: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)}, key=len):
        if not any(path == d or path.startswith(d + "/") for d in dirs):
            dirs.append(path)
    return dirs


def _parent_dirs(targets: list[str]) -> list[str]:
    """--dir for every parent of the bind targets: bwrap run as root makes the
    ones it creates itself 0700, which the mock's uid could not traverse."""
    parents = sorted({str(p) for t in targets for p in Path(t).parents if str(p) != "/"}, key=len)
    return [arg for parent in parents for arg in ("--dir", parent)]


def read_only_dev() -> list[str]:
    """A /dev with the few devices a Python process uses, mounted read-only."""
    args = ["--tmpfs", "/dev"]
    for name in _DEVICES:
        args += ["--dev-bind", f"/dev/{name}", f"/dev/{name}"]
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")):
        args += ["--symlink", target, f"/dev/{name}"]
    args += ["--symlink", "/proc/self/fd/2", "/dev/stderr", "--remount-ro", "/dev"]
    return args


def zygote_command(control_dir: str, services: str) -> list[str]:
    """bwrap ... python -m engine.moto_zygote; start it with an empty environment."""
    command = [
        "bwrap",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--new-session",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            command += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    binds = [(path, path) for path in _python_dirs() if not path.startswith("/usr/")]
    if os.path.exists("/etc/mime.types"):
        binds.append(("/etc/mime.types", "/etc/mime.types"))
    binds.append((str(_ENGINE_DIR), f"{_PACKAGE_ROOT}/engine"))
    command += _parent_dirs([target for _, target in binds] + ["/run/zygote"])
    for source, target in binds:
        command += ["--ro-bind", source, target]
    command += [
        "--bind",
        control_dir,
        "/run/zygote",
        "--proc",
        "/proc",
        *read_only_dev(),
        "--remount-ro",
        "/",
        "--setenv",
        "PYTHONPATH",
        _PACKAGE_ROOT,
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--chdir",
        "/",
    ]
    if os.geteuid() == 0:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return [*command, "--", sys.executable, "-s", "-m", "engine.moto_zygote", "/run/zygote/control.sock", services]
