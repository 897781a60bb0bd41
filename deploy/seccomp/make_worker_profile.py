#!/usr/bin/env python3
"""Writes the worker's seccomp profile: Docker's default profile plus what the sandbox needs.

    python3 deploy/seccomp/make_worker_profile.py default.json > deploy/seccomp/worker.json

default.json is the default profile of the Docker Engine that will run the worker
(https://github.com/moby/profiles/blob/main/seccomp/default.json, or the copy of your
engine's release). Everything in it is kept as it is; the rules below are appended:

- clone and unshare, but only when the call creates a new user namespace
  (CLONE_NEWUSER set). Docker's default refuses every namespace flag without
  CAP_SYS_ADMIN, and bwrap makes its sandbox with clone(CLONE_NEWUSER|CLONE_NEWNS|
  CLONE_NEWPID|CLONE_NEWNET|...), then unshare(CLONE_NEWUSER) for --disable-userns.
  Other namespaces still need CAP_SYS_ADMIN, which the worker container does not
  have, so they can only ever be made inside a fresh user namespace.
- mount, umount2 and pivot_root, which bwrap uses to build the sandbox's root inside
  that user namespace. The kernel allows them only to a holder of CAP_SYS_ADMIN in
  the user namespace owning the mount namespace: outside bwrap's namespaces, nobody
  in the container.
- setns, but only when the call joins a user namespace too (CLONE_NEWUSER set in its
  flags): the script zygote's keeper joins a run's sandbox with
  setns(pidfd, CLONE_NEWUSER|CLONE_NEWNS|...) (engine/script_zygote.py). The kernel
  allows that only to a holder of CAP_SYS_ADMIN in the joined user namespace, which
  the keeper has as its owner's uid; a script in the sandbox owns no user namespace
  and may not make one (bwrap --disable-userns).

Everything else Docker's default profile refuses (keyctl, bpf, io_uring, userfaultfd,
perf_event_open, setns without a user namespace, ...) stays refused, for the worker and
for student scripts alike (a sandboxed script inherits the container's filter).
"""

from __future__ import annotations

import json
import sys

CLONE_NEWUSER = 0x10000000
MARK = "labgrader-bwrap: "
ADDED_RULES = [
    {
        "names": ["clone", "unshare"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NEWUSER, "valueTwo": CLONE_NEWUSER, "op": "SCMP_CMP_MASKED_EQ"}],
        "comment": MARK + "new namespaces only together with a new user namespace",
        "excludes": {"arches": ["s390", "s390x"]},
    },
    {
        "names": ["clone"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 1, "value": CLONE_NEWUSER, "valueTwo": CLONE_NEWUSER, "op": "SCMP_CMP_MASKED_EQ"}],
        "comment": MARK + "s390 parameter ordering for clone is different",
        "includes": {"arches": ["s390", "s390x"]},
    },
    {
        "names": ["unshare"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": CLONE_NEWUSER, "valueTwo": CLONE_NEWUSER, "op": "SCMP_CMP_MASKED_EQ"}],
        "comment": MARK + "unshare takes its flags first on s390 too",
        "includes": {"arches": ["s390", "s390x"]},
    },
    {
        "names": ["setns"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 1, "value": CLONE_NEWUSER, "valueTwo": CLONE_NEWUSER, "op": "SCMP_CMP_MASKED_EQ"}],
        "comment": MARK + "the script zygote's keeper joins a sandbox, its user namespace included",
    },
    {
        "names": ["mount", "umount2", "pivot_root"],
        "action": "SCMP_ACT_ALLOW",
        "comment": MARK + "building the sandbox root; needs CAP_SYS_ADMIN in the owning user namespace",
    },
]


def worker_profile(default: dict) -> dict:
    """Docker's default profile (as parsed JSON) with bubblewrap's rules appended, once."""
    if default.get("defaultAction") != "SCMP_ACT_ERRNO" or not isinstance(default.get("syscalls"), list):
        raise ValueError("this does not look like Docker's default seccomp profile (an allowlist)")
    allowed = {name for rule in default["syscalls"] if rule.get("action") == "SCMP_ACT_ALLOW" for name in rule["names"]}
    if not {"read", "write", "execve"} <= allowed:
        raise ValueError("this does not look like Docker's default seccomp profile (read/write/execve not allowed)")
    rules = [rule for rule in default["syscalls"] if not str(rule.get("comment", "")).startswith(MARK)]
    return {**default, "syscalls": rules + [dict(rule) for rule in ADDED_RULES]}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[0]) as source:
        profile = worker_profile(json.load(source))
    json.dump(profile, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
