import random

import pytest

from checks.evidence import no_calls_verdict_text, replay, s3_calls, shows_size, sizes_shown, timeline
from engine.record import Call, Change, ObjectInfo
from engine.s3ops import LISTING_OPERATIONS
from tests.records import ScriptRun, correct_run


def test_the_timeline_is_built_once_per_record():
    record = correct_run().record()
    assert timeline(record) is timeline(record)


def test_a_call_added_to_the_record_rebuilds_the_timeline():
    run = correct_run()
    record = run.record()
    first = timeline(record)
    record.calls.append(run.create_bucket("late").calls[-1])
    assert timeline(record) is not first
    assert "late" in timeline(record).created


def naive_timeline(record):
    """The timeline as it was first written: every created bucket looked at after every
    call, and a copy of the bucket kept at each peak and each listing. Slow, obviously right."""
    created, peak, fullest, listings = [], {}, {}, []
    for call, state in replay(record):
        for change in call.changes:
            if change.created and change.bucket not in created:
                created.append(change.bucket)
        for bucket in created:
            objects = state.get(bucket)
            if objects is not None and len(objects) >= peak.get(bucket, 0) and call.changes:
                peak[bucket] = len(objects)
                fullest[bucket] = dict(objects)
        if call.operation in LISTING_OPERATIONS and call.ok and call.bucket in state:
            listings.append((call, dict(state[call.bucket])))
    target = max(created, key=lambda b: (peak.get(b, 0), -created.index(b))) if created else None
    return created, peak, fullest, listings, target


def random_run(rng: random.Random) -> ScriptRun:
    """Creates, uploads, overwrites, tags, lists, deletes (one by one and in batches) over a few names."""
    run = ScriptRun()
    buckets, keys = ["b1", "b2", "b3"], ["k1", "k2", "k3", "k4"]
    for _ in range(rng.randint(0, 60)):
        bucket, key, roll = rng.choice(buckets), rng.choice(keys), rng.random()
        if roll < 0.15:
            run.create_bucket(bucket)
        elif roll < 0.5:
            run.put(bucket, key, size=rng.randint(0, 9))
        elif roll < 0.65:
            run.list(bucket)
        elif roll < 0.75 and key in run.state.get(bucket, {}):
            run.tag_later(bucket, key, {"Project": "Intern-Labs"})
        elif roll < 0.85 and bucket in run.state:
            run.delete_object(bucket, key)
        elif roll < 0.92 and bucket in run.state:
            doomed = [k for k in keys if rng.random() < 0.5]
            for k in doomed:
                run.state[bucket].pop(k, None)
            run._call("DeleteObjects", "POST", bucket, changes=[Change(bucket, k) for k in doomed])
        elif bucket in run.state:
            run.delete_bucket(bucket)
    return run


@pytest.mark.parametrize("seed", range(300))
def test_the_timeline_agrees_with_the_naive_one_on_random_records(seed):
    rng = random.Random(seed)
    record = random_run(rng).record()
    created, peak, fullest, listings, target = naive_timeline(record)
    line = timeline(record)
    assert (line.created, line.peak, line.target) == (created, peak, target)
    assert line.audited == fullest.get(target, {})
    assert all(line.held_at_peak(bucket) == fullest.get(bucket, {}) for bucket in created)
    assert [(c.seq, count) for c, count in line.listed] == [(c.seq, len(held)) for c, held in listings]
    for bucket in ("b1", "b2", "b3"):
        for keys in (set(), {"k1"}, set(fullest.get(bucket, {})), {"k2", "k4"}):
            expected = [c.seq for c, held in listings if c.bucket == bucket and keys <= held.keys()]
            assert [c.seq for c in line.listings_holding(bucket, keys)] == expected


def test_listings_holding_forgets_the_keys_of_a_deleted_bucket():
    run = ScriptRun().create_bucket("b").put("b", "k").list("b")
    run.state["b"].clear()
    run._call("DeleteBucket", "DELETE", "b", status=204, changes=[Change("b"), Change("b", created=True)])
    run.list("b")
    assert [c.seq for c in timeline(run.record()).listings_holding("b", ["k"])] == [3]


@pytest.mark.parametrize("seed", range(1000))
def test_sizes_shown_agrees_with_shows_size_key_by_key(seed):
    rng = random.Random(seed)
    pieces = ["a", "ab", "a.b", "1", "12", "3.5", " ", ".", "_", ":", "x1", "-", "\u0663", "é"]
    stdout_lines = ["".join(rng.choices(pieces, k=rng.randint(0, 6))) for _ in range(rng.randint(0, 12))]
    sizes = [0, 1, 2, 3, 12, 35, 123]
    objects = {key: ObjectInfo(size=rng.choice(sizes)) for key in rng.sample(pieces[:6] + ["a b", "-", "\u0663"], 4)}
    expected = {key for key, obj in objects.items() if shows_size(stdout_lines, key, obj.size)}
    assert sizes_shown(stdout_lines, objects) == (expected, [])


def test_sizes_shown_stops_looking_for_a_key_on_more_lines_than_its_share_and_says_so():
    names = ["k" + "".join("abcdefghij"[int(digit)] for digit in f"{index:04d}") for index in range(4000)]
    objects = {name: ObjectInfo(size=7) for name in names}  # a share of 10 lines each
    keys = " ".join(objects)
    crowded = [f"{keys} x7"] * 12 + [f"{keys} 7"]  # every size shown, but only past each key's first 10 lines
    sizes = sizes_shown(crowded, objects)
    assert sizes.shown == set() and sizes.unsure == names
    assert "kaaaa, kaaab, kaaac and 3997 more appear on so many lines" in sizes.note
    assert sizes_shown(crowded[-3:], objects) == (set(objects), [])


def test_a_call_to_another_served_service_is_no_s3_call():
    run = ScriptRun()
    run.calls.append(Call(seq=1, operation="CreateTable", method="POST", path="/", status=200, service="dynamodb"))
    record = run.record()
    assert s3_calls(record) == []
    assert no_calls_verdict_text(record).startswith("The script made no S3 call at all.")
