from tests.labs import lab06
from tests.records import LAB_TAG, ScriptRun, correct_run

check = lab06("one_tagged").check


def three(tags_a=None, tags_b=None, tags_c=None, **put_options) -> ScriptRun:
    run = ScriptRun().create_bucket("b")
    run.put("b", "a.txt", tags=tags_a, **put_options)
    run.put("b", "b.txt", tags=tags_b, **put_options)
    return run.put("b", "c.txt", tags=tags_c, **put_options)


def test_it_passes_exactly_one_tagged_object():
    verdict = check(correct_run().record())
    assert verdict.passed
    assert "a.txt carries Project=Intern-Labs" in verdict.feedback
    assert "Note" not in verdict.feedback


def test_it_accepts_other_tags_beside_the_lab_tag():
    assert check(three(tags_a={**LAB_TAG, "Owner": "alice"}, tags_b={"Owner": "alice"}).record()).passed


def test_it_fails_when_all_three_carry_the_tag():
    verdict = check(three(LAB_TAG, LAB_TAG, LAB_TAG).record())
    assert not verdict.passed
    assert "All 3 objects carry Project=Intern-Labs" in verdict.feedback and "only one should" in verdict.feedback


def test_it_fails_two_tagged_out_of_three():
    verdict = check(three(LAB_TAG, LAB_TAG).record())
    assert "These 2 objects carry Project=Intern-Labs (a.txt, b.txt)" in verdict.feedback


def test_it_fails_no_tag_and_says_how_to_tag():
    verdict = check(three().record())
    assert not verdict.passed
    assert "No object carries the tag" in verdict.feedback and "ExtraArgs" in verdict.feedback


def test_it_points_out_a_case_difference():
    verdict = check(three(tags_c={"Project": "intern-labs"}).record())
    assert not verdict.passed
    assert "found Project=intern-labs on c.txt (case differs)".lower() in verdict.feedback.lower()


def test_it_points_out_a_colon_written_into_the_key():
    verdict = check(three(tags_b={"Project: Intern-Labs": ""}).record())
    assert "tag key 'Project: Intern-Labs' with an empty value" in verdict.feedback
    assert "Tagging='Project=Intern-Labs'" in verdict.feedback


def test_it_fails_when_another_object_carries_a_different_project_tag():
    verdict = check(three(LAB_TAG, {"Project": "Other"}).record())
    assert not verdict.passed
    assert "b.txt also carries Project=Other" in verdict.feedback


def test_it_passes_a_tag_set_later_with_a_note():
    run = three().tag_later("b", "b.txt", LAB_TAG)
    verdict = check(run.record())
    assert verdict.passed
    assert "later PutObjectTagging" in verdict.feedback


def test_it_needs_at_least_two_objects():
    run = ScriptRun().create_bucket("b").put("b", "a.txt", tags=LAB_TAG)
    verdict = check(run.record())
    assert not verdict.passed
    assert "never held more than 1 object" in verdict.feedback


def test_it_judges_the_bucket_at_its_fullest_not_after_cleanup():
    run = three(LAB_TAG).empty_and_delete("b")
    assert check(run.record()).passed
