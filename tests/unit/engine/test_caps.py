import json

from engine.caps import JSON_BYTES, cap_json


def test_small_values_are_kept_as_they_are():
    params = {"TableName": "inventory-alice", "Limit": 2, "ConsistentRead": True, "Key": {"sku": {"S": "A-1"}}}
    assert cap_json(params) == params


def test_long_strings_long_lists_and_big_maps_are_cut_and_say_so():
    capped = cap_json({"s": "x" * 5000, "l": list(range(60)), "m": {str(i): i for i in range(60)}})
    assert capped["s"].endswith("more chars]") and len(capped["s"]) < 1100
    assert capped["l"][-1] == "[cut: 10 more items]" and len(capped["l"]) == 51
    assert capped["m"]["[cut]"] == "10 more entries" and len(capped["m"]) == 51


def test_deep_nesting_is_cut_at_a_small_depth():
    deep: dict = {}
    inner = deep
    for _ in range(50):
        inner["a"] = {}
        inner = inner["a"]
    assert "nested deeper than" in json.dumps(cap_json(deep))


def test_a_map_is_held_to_a_few_kib_of_json_its_largest_values_cut_first():
    capped = cap_json({"Small": "kept", **{f"Big{i}": ["y" * 900] * 10 for i in range(10)}})
    assert len(json.dumps(capped)) <= JSON_BYTES
    assert capped["Small"] == "kept"
    assert capped["Big0"].startswith("[cut: ") and capped["Big0"].endswith(" bytes of JSON]")
