"""A service's state kept as changes from what its probe reads (engine/probes.py), with a fake probe."""

import pytest

from engine import probes
from engine.probes import ResourceView, ServiceStates
from engine.record import ServiceChange, apply_service_change

# What the fake service holds: resource -> entry -> value. The tests change it between calls.
held: dict[str, dict[str, dict]] = {}
reads: list[dict | None] = []
broken: list[bool] = []


def fake_probe(request: dict | None, max_entries: int) -> dict[str, ResourceView]:
    """Reads everything, or with {"only": (resource, entry)} that one entry, as the DynamoDB probe reads a PutItem."""
    reads.append(request)
    if broken:
        raise RuntimeError("moto changed")
    only = (request or {}).get("only")
    views = {}
    for resource, entries in held.items():
        if only is None:
            kept = dict(list(entries.items())[:max_entries])
            views[resource] = ResourceView({"count": len(entries)}, kept, complete=True, entry_count=len(entries))
        else:
            read = {only[1]: entries.get(only[1])} if only[0] == resource else {}
            views[resource] = ResourceView({"count": len(entries)}, read, complete=False, entry_count=len(entries))
    return views


@pytest.fixture
def states(monkeypatch):
    monkeypatch.setitem(probes.PROBES, "fake", f"{__name__}:fake_probe")
    held.clear()
    reads.clear()
    broken.clear()
    return ServiceStates()


def test_only_operations_not_named_like_reads_are_probed():
    assert not any(map(probes.may_change_state, ["DescribeTable", "ListTables", "GetItem", "Scan", "Query"]))
    assert all(map(probes.may_change_state, ["PutItem", "BatchWriteItem", "DeleteTable", "Unknown"]))


def test_a_service_without_a_probe_records_no_changes(states):
    assert states.changes("sqs", None) == []


def test_changes_are_what_differs_from_the_last_state_seen(states):
    held["t"] = {"a": {"n": {"N": "1"}}}
    assert states.changes("fake", None) == [
        ServiceChange("t", None, {"count": 1}),
        ServiceChange("t", "a", {"n": {"N": "1"}}),
    ]
    held["t"]["a"] = {"n": {"N": "2"}}
    held["t"]["b"] = {"n": {"N": "3"}}
    assert states.changes("fake", None) == [
        ServiceChange("t", None, {"count": 2}),
        ServiceChange("t", "a", {"n": {"N": "2"}}),
        ServiceChange("t", "b", {"n": {"N": "3"}}),
    ]
    assert states.changes("fake", None) == []


def test_a_deleted_resource_is_one_change_that_takes_its_entries_with_it(states):
    held["t"] = {"a": {}, "b": {}}
    states.changes("fake", None)
    del held["t"]
    assert states.changes("fake", None) == [ServiceChange("t")]
    assert states.states["fake"] == {}


def test_a_partial_read_changes_only_what_it_read(states):
    held["t"] = {"a": {"v": 1}}
    states.changes("fake", None)
    held["t"]["b"] = {"v": 2}
    changes = states.changes("fake", {"only": ("t", "b")})
    assert changes == [ServiceChange("t", None, {"count": 2}), ServiceChange("t", "b", {"v": 2})]
    assert reads[-1] == {"only": ("t", "b")}  # the count agreed: no full read


def test_a_partial_read_that_disagrees_with_the_count_is_read_again_in_full(states):
    held["t"] = {"a": {"v": 1}}
    states.changes("fake", None)
    held["t"]["b"] = {"v": 2}
    held["t"]["c"] = {"v": 3}  # the call changed an entry the partial read does not look at
    changes = states.changes("fake", {"only": ("t", "b")})
    assert reads[-1] is None
    assert ServiceChange("t", "c", {"v": 3}) in changes
    assert set(states.states["fake"]["t"]["entries"]) == {"a", "b", "c"}


def test_a_failed_probe_makes_the_next_call_read_everything(states):
    held["t"] = {"a": {}}
    broken.append(True)
    with pytest.raises(RuntimeError):
        states.changes("fake", {"only": ("t", "a")})
    broken.clear()
    held["t"]["z"] = {}
    states.changes("fake", {"only": ("t", "a")})
    assert reads[-1] is None
    assert set(states.states["fake"]["t"]["entries"]) == {"a", "z"}


def test_entries_past_the_cap_are_counted_in_the_description_and_the_count_stays_exact(states, monkeypatch):
    monkeypatch.setattr(probes, "MAX_ENTRIES", 3)
    held["t"] = {f"e{i}": {} for i in range(5)}
    states.changes("fake", None)
    kept = states.states["fake"]["t"]
    assert len(kept["entries"]) == 3
    assert kept["resource"] == {"count": 5, "entries_cut": 2}
    held["t"]["e9"] = {}
    states.changes("fake", {"only": ("t", "e9")})  # past the cap: counted, not held, no full read
    assert reads[-1] == {"only": ("t", "e9")}
    assert states.states["fake"]["t"]["resource"] == {"count": 6, "entries_cut": 3}


def test_entry_values_are_capped(states):
    held["t"] = {"a": {"text": {"S": "x" * 5000}}}
    states.changes("fake", None)
    text = states.states["fake"]["t"]["entries"]["a"]["text"]["S"]
    assert len(text) < 1100 and text.endswith("more chars]")


def test_the_recorded_changes_add_up_to_the_final_state(states):
    recorded = []
    held["t"] = {"a": {"v": 1}, "b": {"v": 1}}
    recorded += states.changes("fake", None)
    held["u"] = {"x": {}}
    del held["t"]["a"]
    held["t"]["b"] = {"v": 2}
    recorded += states.changes("fake", None)
    del held["u"]
    recorded += states.changes("fake", None)
    rebuilt: dict = {}
    for change in recorded:
        apply_service_change(rebuilt, change)
    assert rebuilt == states.final({"fake"})["fake"] == states.states["fake"]
