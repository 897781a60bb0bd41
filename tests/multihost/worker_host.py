"""A worker "machine" on this one, for tests/multihost: a process tree that shares nothing
with the web host but the kernel and read-only code.

    python -m tests.multihost.worker_host --netns NS --hostname H \\
        --code /path/to/checkout --code /path/to/python --hide /path/to/checkout/var \\
        -- celery -A grader worker ...

It joins the network namespace NS (made by tests/multihost/hosts.py: one link to the
web host's bridge, no other route), then unshares a mount, pid, UTS and IPC namespace
and pivots into a root of its own:

- /usr, /etc, /opt and the --code directories read-only (the checkout, the Python
  it runs on), with each --hide directory (the web host's var/) covered by an empty
  tmpfs; the root itself read-only;
- fresh tmpfs at /tmp (so the slot locks and job directories are this host's own),
  /var/tmp, /run, /root (HOME) and /dev/shm; /proc of its own pid namespace; /dev and
  /sys (cgroups) as the machine has them.

The first child is the host's PID 1: it runs the command and reaps orphans. Killing it
(or the launcher, via PR_SET_PDEATHSIG) ends every process of the host at once, the way
a machine that loses power does.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
PR_SET_PDEATHSIG = 1
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# statvfs flags to keep on a read-only remount of a bind
_KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC))

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def encode(text):
        return text.encode() if text is not None else None

    _check(_libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    kept = os.statvfs(target).f_flag
    for statvfs_flag, mount_flag in _KEPT_FLAGS:
        if kept & statvfs_flag:
            flags |= mount_flag
    _mount(None, target, None, flags)


def _tmpfs(target: str, mode: str) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=512m")


def _under(path: str, parents) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in parents)


def join_netns(name: str) -> None:
    descriptor = os.open(f"/run/netns/{name}", os.O_RDONLY)
    _check(_libc.setns(descriptor, CLONE_NEWNET), f"setns {name}")
    os.close(descriptor)


def build_root(code: list[str], hide: list[str]) -> None:
    """Pivot into the host's own root (see the module docstring)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    code = [p for p in dict.fromkeys(os.path.realpath(p) for p in code) if not _under(p, SYSTEM_DIRS)]
    code = [p for p in code if not any(_under(p, [other]) and p != other for other in code)]
    # Opened before the tmpfs below covers /tmp: a checkout under /tmp (CI's clone) stays reachable.
    sources = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in code]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")  # to build the root in
    root = "/tmp/host-root"
    os.mkdir(root, 0o755)
    _mount(root, root, None, MS_BIND)
    for directory in SYSTEM_DIRS:
        if os.path.isdir(directory):
            os.makedirs(root + directory)
            _bind_read_only(directory, root + directory)
    for link in SYSTEM_LINKS:  # a merged /usr: /lib -> usr/lib
        if os.path.islink(link):
            os.symlink(os.readlink(link), root + link)
        elif os.path.isdir(link):
            os.makedirs(root + link)
            _bind_read_only(link, root + link)
    # This host's own writable places, before the code is bound (a pyenv lives under /root).
    _tmpfs(root + "/tmp", "1777")
    _tmpfs(root + "/var/tmp", "1777")
    _tmpfs(root + "/run", "0755")
    _tmpfs(root + "/root", "0700")
    for path, descriptor in sources:
        os.makedirs(root + path, mode=0o755, exist_ok=True)
        _bind_read_only(f"/proc/self/fd/{descriptor}", root + path)
        os.close(descriptor)
    for path in hide:  # the web host's files in the checkout: an empty, read-only tmpfs over them
        if os.path.isdir(root + path):
            _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "mode=0755,size=4k")
    os.makedirs(root + "/dev")
    _mount("/dev", root + "/dev", None, MS_BIND | MS_REC)
    if os.path.isdir(root + "/dev/shm"):
        _tmpfs(root + "/dev/shm", "1777")
    os.makedirs(root + "/sys")
    _mount("/sys", root + "/sys", None, MS_BIND | MS_REC)
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this pid namespace's
    os.mkdir(root + "/old-root")
    os.chdir(root)
    _check(_libc.syscall(_PIVOT_ROOT[platform.machine()], b".", b"old-root"), "pivot_root")
    _check(_libc.umount2(b"/old-root", MNT_DETACH), "umount old root")
    os.rmdir("/old-root")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    os.chdir("/")


def _pass_on(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass  # already gone


def init(command: list[str]) -> int:
    """PID 1 of the host: start the command, pass on TERM/INT/HUP, reap every orphan."""
    child = os.fork()
    if child == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda number, _frame: _pass_on(child, number))
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        if pid == child:
            return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--netns", required=True)
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--code", action="append", default=[], help="a directory the host sees read-only")
    parser.add_argument("--hide", action="append", default=[], help="a directory under --code the host sees empty")
    parser.add_argument("--cwd", default="/")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")  # the test process died: so do we
    join_netns(args.netns)
    _check(_libc.unshare(CLONE_NEWPID), "unshare pid")  # the next child is the host's PID 1
    host_init = os.fork()
    if host_init:
        # Outside the host: the process the test started. Pass signals on; exit with PID 1.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda number, _frame: _pass_on(host_init, number))
        _, status = os.waitpid(host_init, 0)
        return os.waitstatus_to_exitcode(status)
    try:
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC), "unshare")
        build_root(args.code, args.hide)
        name = args.hostname.encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
        os.chdir(args.cwd)
    except BaseException as error:  # noqa: BLE001 - report it on the log and end the host
        sys.stderr.write(f"worker_host: cannot build the host: {error}\n")
        os._exit(125)
    os._exit(init(command))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
