"""deploy/seccomp/make_worker_profile.py: Docker's default seccomp profile plus exactly
what bubblewrap needs to build the sandbox inside the worker container."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "seccomp" / "make_worker_profile.py"
CLONE_NEWUSER = 0x10000000
CLONE_NEW_ANY = 0x7E020000  # every CLONE_NEW* flag: what Docker's default refuses

_spec = importlib.util.spec_from_file_location("make_worker_profile", SCRIPT)
make_worker_profile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_worker_profile)

# Shaped like Docker's default profile (an allowlist with capability-gated rules),
# trimmed to the rules that matter here.
DOCKER_LIKE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "syscalls": [
        {"names": ["read", "write", "execve", "setresuid", "prctl"], "action": "SCMP_ACT_ALLOW"},
        {
            "names": ["bpf", "clone", "mount", "setns", "umount2", "unshare"],
            "action": "SCMP_ACT_ALLOW",
            "includes": {"caps": ["CAP_SYS_ADMIN"]},
        },
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": CLONE_NEW_ANY, "op": "SCMP_CMP_MASKED_EQ"}],
            "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]},
        },
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
    ],
}


def unconditional_rules(profile: dict) -> list[dict]:
    """Rules that apply to a container without extra capabilities."""
    return [rule for rule in profile["syscalls"] if not (rule.get("includes") or {}).get("caps")]


def added_rules(profile: dict) -> list[dict]:
    return profile["syscalls"][len(DOCKER_LIKE["syscalls"]) :]


def test_the_worker_profile_keeps_every_rule_of_dockers_default_unchanged():
    profile = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    assert profile["syscalls"][: len(DOCKER_LIKE["syscalls"])] == DOCKER_LIKE["syscalls"]
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"


def test_only_namespace_and_mount_calls_are_added():
    profile = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    added = {name for rule in added_rules(profile) for name in rule["names"]}
    assert added == {"clone", "unshare", "setns", "mount", "umount2", "pivot_root"}
    assert all(rule["action"] == "SCMP_ACT_ALLOW" for rule in added_rules(profile))
    assert not any((rule.get("includes") or {}).get("caps") for rule in added_rules(profile))


def test_clone_unshare_and_setns_may_make_or_join_namespaces_only_with_a_user_namespace():
    profile = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    checked = set()
    for rule in added_rules(profile):
        if {"clone", "unshare", "setns"} & set(rule["names"]):
            (arg,) = rule["args"]
            assert arg["op"] == "SCMP_CMP_MASKED_EQ"
            assert arg["value"] == arg["valueTwo"] == CLONE_NEWUSER
            # setns(fd, nstype): the flags are its second argument.
            assert arg["index"] == (1 if rule["names"] == ["setns"] else arg["index"])
            checked |= set(rule["names"])
    assert checked == {"clone", "unshare", "setns"}


def test_mount_umount2_and_pivot_root_are_allowed_whatever_their_arguments():
    profile = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    rules = [rule for rule in unconditional_rules(profile) if "pivot_root" in rule["names"]]
    assert rules and set(rules[0]["names"]) == {"mount", "umount2", "pivot_root"}
    assert not rules[0].get("args")


def test_bpf_and_clone3_keep_dockers_verdict_and_setns_is_allowed_only_with_its_flags_checked():
    profile = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    allowed = {
        name
        for rule in unconditional_rules(profile)
        if rule["action"] == "SCMP_ACT_ALLOW" and not rule.get("args")
        for name in rule["names"]
    }
    assert not {"setns", "bpf", "clone3"} & allowed


def test_making_the_profile_from_its_own_output_adds_the_rules_once():
    once = make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))
    twice = make_worker_profile.worker_profile(copy.deepcopy(once))
    assert twice == once


@pytest.mark.parametrize(
    "profile",
    [
        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []},
        {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]},
        {"defaultAction": "SCMP_ACT_ERRNO"},
    ],
)
def test_a_file_that_is_not_dockers_default_allowlist_is_refused(profile):
    with pytest.raises(ValueError):
        make_worker_profile.worker_profile(profile)


def test_the_command_line_writes_the_profile_as_json(tmp_path):
    source = tmp_path / "default.json"
    source.write_text(json.dumps(DOCKER_LIKE))
    result = subprocess.run([sys.executable, str(SCRIPT), str(source)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == make_worker_profile.worker_profile(copy.deepcopy(DOCKER_LIKE))


def test_the_command_line_explains_its_usage_without_an_argument():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "make_worker_profile.py default.json" in result.stderr
