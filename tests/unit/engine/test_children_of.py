"""slots.children_of: a process's children, from /proc's children lists or from a scan."""

import os
import signal
import subprocess
import time

import pytest

from engine import slots


@pytest.mark.parametrize("children_lists", [True, False], ids=["children lists", "scan of /proc"])
def test_children_of_lists_exactly_a_processes_live_children(monkeypatch, children_lists):
    monkeypatch.setattr(slots, "_CHILDREN_LISTS", children_lists and slots._CHILDREN_LISTS)
    # A parent of our own making: this test process may have other children (zygotes).
    parent = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while len(slots.children_of(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        children = slots.children_of(parent.pid)
        assert len(children) == 2
        for child in children:
            assert open(f"/proc/{child}/cmdline", "rb").read().split(b"\0")[0] == b"sleep"
            assert slots.children_of(child) == []
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # the sleeps too
        parent.wait()
    assert slots.children_of(parent.pid) == []  # gone
