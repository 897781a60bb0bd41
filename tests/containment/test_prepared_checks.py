"""The checks sandbox is readied while the script runs (issue 7, throughput): the fork confines
itself before the record exists, and the zygote compiles a package's modules once. Neither may
change what a check sees or can do, nor leave anything behind."""

import os
import time

import pytest

from engine import check_host, check_zygote, slots
from engine.grading import evaluate
from tests.containment.test_check_isolation import FINE, SWALLOWS_ITS_TIMER, package_with
from tests.records import correct_run

SAYS_ITS_FILE = """
def check(record):
    return passed(__file__)
"""

SAME_LENGTH_PASSES = """
def check(record):
    return Verdict(passed=1 == 1, feedback="first version")
"""
SAME_LENGTH_FAILS = """
def check(record):
    return Verdict(passed=1 == 2, feedback="edited version")
"""


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                real_uid = next(int(line.split()[1]) for line in status if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if real_uid == uid:
            pids.append(int(entry))
    return pids


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def zygote(monkeypatch):
    # A checks uid of its own, so that another grading on this machine cannot be taken for ours.
    monkeypatch.setattr(check_host, "CHECKS_UID", 60000 + os.getpid() % 900)
    owned = check_host.CheckZygote()
    yield owned
    owned.close()


def test_checks_prepared_before_the_run_grade_the_record_sent_after_it(tmp_path, zygote):
    assignment = package_with(tmp_path, fine=FINE, says_its_file=SAYS_ITS_FILE)
    prepared = zygote.prepare(assignment.package_dir, ["fine", "says_its_file"], 1)
    try:
        time.sleep(0.2)  # the fork is confined and waiting by now
        [[fine, says_its_file]] = prepared.run([correct_run().record().to_dict()])
    finally:
        prepared.close()
    assert fine.passed and fine.error is None
    # Imported from the zygote's compiled code, a module still knows its own file.
    assert says_its_file.feedback == str(assignment.package_dir.resolve() / "checks" / "says_its_file.py")


@pytest.mark.skipif(not slots.dedicated_uids(), reason="the checks uid exists only when grading as root")
def test_a_prepared_checks_sandbox_never_used_leaves_no_process_behind(tmp_path, zygote):
    assignment = package_with(tmp_path, fine=FINE)
    prepared = zygote.prepare(assignment.package_dir, ["fine"], 1)
    assert wait_for(lambda: processes_of(check_host.CHECKS_UID)), "the prepared fork never dropped to the checks uid"
    prepared.close()
    assert wait_for(lambda: not processes_of(check_host.CHECKS_UID)), processes_of(check_host.CHECKS_UID)


@pytest.mark.skipif(not slots.dedicated_uids(), reason="the checks uid exists only when grading as root")
def test_a_checks_fork_killed_on_its_deadline_leaves_no_zombie_with_the_grader(tmp_path, zygote, monkeypatch):
    # Every grading process is a child subreaper (for the sandbox's orphans). The fork's
    # namespace init, orphaned when the client kills the fork, came to it and was never
    # reaped: a zombie per stopped check, for as long as the worker lived.
    slots.become_subreaper()
    monkeypatch.setattr(check_host, "CHECK_S", 0.5)
    assignment = package_with(tmp_path, stubborn=SWALLOWS_ITS_TIMER)
    for _ in range(3):
        [[answer]] = zygote.run(assignment.package_dir, ["stubborn"], [correct_run().record().to_dict()])
        assert answer.error and "did not finish" in answer.error
    assert wait_for(lambda: not processes_of(check_host.CHECKS_UID)), processes_of(check_host.CHECKS_UID)


def test_a_prepared_checks_sandbox_refuses_more_records_than_it_was_prepared_for(tmp_path, zygote):
    assignment = package_with(tmp_path, fine=FINE)
    prepared = zygote.prepare(assignment.package_dir, ["fine"], 1)
    try:
        with pytest.raises(ValueError, match="prepared for 1 records, given 2"):
            prepared.run([correct_run().record().to_dict()] * 2)
    finally:
        prepared.close()


def test_an_edited_check_module_is_compiled_again_not_served_from_the_zygotes_cache(tmp_path):
    assignment = package_with(tmp_path, edited=SAME_LENGTH_PASSES)
    assert evaluate(correct_run().record(), assignment)[0].passed
    module = assignment.package_dir / "checks" / "edited.py"
    text = module.read_text().replace(SAME_LENGTH_PASSES, SAME_LENGTH_FAILS)
    module.write_text(text)
    later = module.stat().st_mtime + 2
    os.utime(module, (later, later))  # as an editor saving it a moment later would
    [result] = evaluate(correct_run().record(), assignment)
    assert (result.passed, result.feedback) == (False, "edited version")


def test_a_check_module_linked_to_a_host_file_is_not_read_with_the_zygotes_rights(tmp_path, zygote):
    # The zygote is not confined: following the link, it would read a file the fork cannot
    # see and hand its contents, compiled, to the package's code.
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.py"
    secret.write_text("TOKEN = 'host-secret-1234'\n")
    assignment = package_with(
        tmp_path, uses_helper="from . import _linked\n\ndef check(record):\n    return passed(_linked.TOKEN)\n"
    )
    (assignment.package_dir / "checks" / "_linked.py").symlink_to(secret)
    assert check_zygote.compiled_package(str(assignment.package_dir)).keys() == {"uses_helper"}
    [[answer]] = zygote.run(assignment.package_dir, ["uses_helper"], [correct_run().record().to_dict()])
    assert "host-secret-1234" not in answer.feedback + (answer.error or "")
    assert answer.error is not None  # the fork finds no such file in its root


def test_the_zygote_compiles_a_package_once_while_its_files_are_unchanged(tmp_path):
    assignment = package_with(tmp_path, fine=FINE, edited=SAME_LENGTH_PASSES)
    first = check_zygote.compiled_package(str(assignment.package_dir))
    again = check_zygote.compiled_package(str(assignment.package_dir))
    assert first.keys() == {"fine", "edited"}
    assert all(again[name] is first[name] for name in first)
    module = assignment.package_dir / "checks" / "edited.py"
    module.write_text(module.read_text().replace(SAME_LENGTH_PASSES, SAME_LENGTH_FAILS))
    later = module.stat().st_mtime + 2
    os.utime(module, (later, later))
    edited = check_zygote.compiled_package(str(assignment.package_dir))
    assert edited["fine"] is first["fine"] and edited["edited"] is not first["edited"]


def test_a_module_that_does_not_compile_is_left_to_the_fork_and_is_that_checks_verdict(tmp_path):
    assignment = package_with(tmp_path, fine=FINE, broken="def check(record:\n")
    assert check_zygote.compiled_package(str(assignment.package_dir)).keys() == {"fine"}
    results = {r.id: r for r in evaluate(correct_run().record(), assignment)}
    assert results["fine"].passed
    assert results["broken"].error and "SyntaxError" in results["broken"].feedback
