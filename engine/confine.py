"""Confines a forked mock process, in-process, the way bubblewrap would.

bubblewrap maps one uid, and in a container it gets no CAP_SYS_ADMIN, so the
zygote could not run under it and still give each run's mock a uid of its
own. Each fork confines itself instead, with the calls bubblewrap makes and
the worker's seccomp profile allows (unshare with CLONE_NEWUSER, mount,
umount2, pivot_root):

1. the fork (still root) unshares a user namespace with new mount, network,
   IPC and UTS namespaces: no network at all from here on;
2. the zygote, outside and holding CAP_SETUID/CAP_SETGID, maps root and the
   run's mock uid into it (write_id_maps);
3. the fork, root inside, builds a read-only root holding only the
   directories Python imports from (looked up as root, so a pyenv under a
   0700 /root works) and pivots into it;
4. it switches to the mock uid for good: every capability goes with it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import sysconfig

from engine.script_zygote import drop_capabilities

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
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
PR_SET_NO_NEW_PRIVS = 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_SYSTEM_LINKS = ("/lib", "/lib64", "/bin", "/sbin")
# statvfs flags that a user namespace may not clear on a bind of a parent's mount.
_LOCKED_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC))

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36


class ConfinementError(OSError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfinementError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def become_subreaper() -> None:
    """Orphans among this process's descendants are reparented to it, not further up."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")


def name_process(name: str) -> None:
    """The name `ps`, `top` and profilers show for this process (15 bytes at most)."""
    _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def unshare_namespaces(*, pid: bool = False) -> None:
    """pid: also a new pid namespace, which the caller's next child enters as its init."""
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    _check(_libc.unshare(flags | (CLONE_NEWPID if pid else 0)), "unshare")


def python_import_dirs(*extra: str) -> list[str]:
    """The directories this interpreter imports from, outermost first, deduplicated,
    and `extra` (folders of our own code that a confined process may import from)."""
    paths = sysconfig.get_paths()
    # /usr: the shared libraries that C extensions (pydantic-core, cryptography) load.
    candidates = ["/usr", sys.base_prefix, sys.prefix, *extra]
    candidates += [paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")]
    dirs: list[str] = []
    # As Python names them (a venv reached through a symlink is imported from the link's path).
    for path in sorted({os.path.abspath(p) for p in candidates if os.path.isdir(p)}, key=len):
        if not any(path == d or path.startswith(d + "/") for d in dirs):
            dirs.append(path)
    return dirs


def write_id_maps(pid: int, mock_uid: int | None) -> None:
    """From outside: map root and the mock uid (as root), or just ourselves (not root)."""
    if mock_uid is None:
        me = os.geteuid()
        _write(f"/proc/{pid}/setgroups", "deny")
        _write(f"/proc/{pid}/uid_map", f"{me} {me} 1")
        _write(f"/proc/{pid}/gid_map", f"{os.getegid()} {os.getegid()} 1")
        return
    _write(f"/proc/{pid}/uid_map", f"0 0 1\n{mock_uid} {mock_uid} 1")
    _write(f"/proc/{pid}/gid_map", f"0 0 1\n{mock_uid} {mock_uid} 1")


def build_read_only_root(paths: list[str]) -> None:
    """Pivot into a read-only root holding only `paths`, each read-only at its own path."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Opened before the tmpfs below covers /tmp: a checkout or venv under /tmp stays reachable.
    sources = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
    # bubblewrap's trick: a tmpfs on /tmp (in this mount namespace only) to build the new root in.
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    new_root = "/tmp/root"
    os.mkdir(new_root, 0o755)
    _mount(new_root, new_root, None, MS_BIND)
    for path, fd in sources:
        target = new_root + path
        os.makedirs(target, mode=0o755, exist_ok=True)
        _bind_read_only(f"/proc/self/fd/{fd}", target)
        os.close(fd)
    for link in _SYSTEM_LINKS:  # a merged /usr: /lib -> usr/lib, where the loader looks
        if os.path.islink(link):
            os.symlink(os.readlink(link), new_root + link)
    os.mkdir(new_root + "/old-root")
    os.chdir(new_root)
    _check(_libc.syscall(_PIVOT_ROOT[platform.machine()], b".", b"old-root"), "pivot_root")
    _check(_libc.umount2(b"/old-root", MNT_DETACH), "umount old root")
    os.rmdir("/old-root")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir("/")


def drop_to(uid: int | None) -> None:
    """For good: the mock uid (all capabilities go with root), or, not root, no capabilities."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if uid is None:
        drop_capabilities()
        return
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    try:
        os.setuid(0)
    except PermissionError:
        return
    os._exit(3)  # root could be regained: never serve like that


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    locked = os.statvfs(target).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for statvfs_flag, mount_flag in _LOCKED_FLAGS:
        if locked & statvfs_flag:
            flags |= mount_flag
    _mount(None, target, None, flags)


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)
