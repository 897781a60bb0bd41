from tests.labs import lab06
from tests.records import ScriptRun, audits, correct_run, uploads_three

check = lab06("audit_output").check


def test_it_passes_a_listed_and_printed_audit():
    verdict = check(correct_run().record())
    assert verdict.passed, verdict.feedback


def test_it_accepts_the_size_on_one_of_the_next_two_lines():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt")
    run.prints("Key: a.txt\n  LastModified: today\n  Size: 11")
    run.prints("Key: b.txt\n  Size: 17\nKey: c.txt\n  Size: 23\nProject: Intern-Labs")
    assert check(run.record()).passed


def test_it_rejects_a_size_three_lines_below_the_key():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt")
    run.prints("a.txt\n.\n.\n11\nb.txt 17\nc.txt 23\nProject Intern-Labs")
    verdict = check(run.record())
    assert not verdict.passed
    assert "never shows the size of a.txt (11 bytes)" in verdict.feedback


def test_it_does_not_take_a_digit_inside_the_key_for_the_size():
    run = ScriptRun().create_bucket("b").put("b", "file1.txt", 1).put("b", "file2.txt", 2).put("b", "file3.txt", 3)
    run.list("b").read_tags("b", "file1.txt").prints("file1.txt\nfile2.txt\nfile3.txt\nProject Intern-Labs")
    verdict = check(run.record())
    assert not verdict.passed
    assert "file1.txt (1 bytes)" in verdict.feedback


def test_it_does_not_accept_a_bigger_number_that_contains_the_size():
    run = uploads_three(sizes=(1, 2, 3)).list("lab-alice").read_tags("lab-alice", "a.txt")
    run.prints("a.txt 11 bytes\nb.txt 2 bytes\nc.txt 3.5 KB\nProject Intern-Labs")
    verdict = check(run.record())
    assert "a.txt (1 bytes)" in verdict.feedback and "c.txt (3 bytes)" in verdict.feedback


def test_it_fails_forged_audit_lines_when_the_bucket_was_never_listed():
    run = uploads_three().read_tags("lab-alice", "a.txt")
    run.prints("a.txt 11\nb.txt 17\nc.txt 23\nProject: Intern-Labs")
    verdict = check(run.record())
    assert not verdict.passed
    assert "The sizes were printed but the bucket was never listed through S3" in verdict.feedback


def test_it_fails_a_listing_made_before_all_objects_existed():
    run = ScriptRun().create_bucket("b").put("b", "a.txt", 5, tags={"Project": "Intern-Labs"}).list("b")
    run.put("b", "b.txt", 6).put("b", "c.txt", 7).read_tags("b", "a.txt")
    run.prints("a.txt 5\nb.txt 6\nc.txt 7\nProject Intern-Labs")
    assert "never listed" in check(run.record()).feedback


def test_it_names_the_missing_size():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt")
    run.prints("a.txt 11\nc.txt 23\nProject Intern-Labs")
    verdict = check(run.record())
    assert "stdout never shows the size of b.txt (17 bytes)" in verdict.feedback


def test_it_fails_when_the_tags_were_never_read():
    run = uploads_three().list("lab-alice").prints("a.txt 11\nb.txt 17\nc.txt 23\nProject Intern-Labs")
    verdict = check(run.record())
    assert not verdict.passed
    assert "tags of a.txt were never read" in verdict.feedback


def test_it_fails_tags_read_from_the_wrong_object():
    run = audits(uploads_three(), tagged="b.txt")
    verdict = check(run.record())
    assert "Tags of b.txt were read, but the tagged file is a.txt" in verdict.feedback


def test_it_fails_when_the_tag_is_not_printed():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt").prints("a.txt 11\nb.txt 17\nc.txt 23")
    assert "does not show the tag" in check(run.record()).feedback


def test_it_accepts_any_tag_read_when_nothing_was_tagged():
    run = ScriptRun().create_bucket("b").put("b", "a.txt", 4).put("b", "b.txt", 5).put("b", "c.txt", 6)
    run.list("b").read_tags("b", "c.txt").prints("a.txt 4\nb.txt 5\nc.txt 6\nno Project tag, expected Intern-Labs")
    assert check(run.record()).passed


def test_it_keeps_its_points_when_the_script_crashes_after_the_audit():
    run = audits(uploads_three()).crashes()
    assert check(run.record()).passed


def test_it_mentions_truncated_output():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt")
    record = run.record()
    record.stdout_truncated = True
    assert "cut at the output limit" in check(record).feedback


def test_printing_the_tag_a_mistagged_object_really_carries_still_shows_the_audit():
    run = ScriptRun().create_bucket("b").put("b", "a.txt", 4, tags={"project": "intern-labs"}).put("b", "b.txt", 5)
    run.put("b", "c.txt", 6).list("b").read_tags("b", "a.txt").prints(
        "a.txt 4\nb.txt 5\nc.txt 6\nproject = intern-labs"
    )
    assert check(run.record()).passed


def test_printing_a_mistagged_value_does_not_pass_when_another_object_has_the_exact_tag():
    run = uploads_three().list("lab-alice").read_tags("lab-alice", "a.txt").prints("a.txt 11\nb.txt 17\nc.txt 23")
    assert not check(run.record()).passed


def test_feedback_says_when_calls_past_the_recording_cap_were_not_detailed():
    record = uploads_three().record()
    record.calls_dropped = 12
    assert "Only the first 4 S3 calls were recorded in detail; 12 more were counted." in check(record).feedback


def loophole_run(positions: bool = True):
    """Sizes printed from the local files, never listed; then cleanup's listing."""
    run = uploads_three()
    for key, size in (("a.txt", 11), ("b.txt", 17), ("c.txt", 23)):
        run.prints(f"{key}: {size} bytes")
    run.read_tags("lab-alice", "a.txt").prints("Tags of a.txt: Project = Intern-Labs")
    run.empty_and_delete("lab-alice")
    record = run.record()
    if not positions:
        for call in record.calls:
            call.stdout_before = call.stdout_after = None
    return record


def test_sizes_printed_before_any_listing_do_not_count_even_when_cleanup_lists_later():
    verdict = check(loophole_run())
    assert not verdict.passed
    assert "printed before the bucket was listed" in verdict.feedback
    assert "a.txt (11 bytes)" in verdict.feedback


def test_sizes_printed_after_the_listing_returned_count():
    run = uploads_three().list("lab-alice")
    for key, size in (("a.txt", 11), ("b.txt", 17), ("c.txt", 23)):
        run.prints(f"{key}: {size} bytes")
    run.read_tags("lab-alice", "a.txt").prints("Project = Intern-Labs").empty_and_delete("lab-alice")
    verdict = check(run.record())
    assert verdict.passed, verdict.feedback


def test_a_size_printed_before_the_listing_is_not_saved_by_printing_the_others_after():
    run = uploads_three().prints("a.txt: 11 bytes").list("lab-alice")
    run.prints("b.txt: 17 bytes").prints("c.txt: 23 bytes")
    run.read_tags("lab-alice", "a.txt").prints("Project = Intern-Labs")
    verdict = check(run.record())
    assert not verdict.passed
    assert "a.txt (11 bytes)" in verdict.feedback and "b.txt" not in verdict.feedback


def test_a_record_made_before_stdout_positions_existed_is_judged_without_the_order_rule():
    # Stored records from before the rule cannot tell the order; re-checking them must not invent one.
    assert check(loophole_run(positions=False)).passed
