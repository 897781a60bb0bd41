"""Score overrides through the pages: bounded, removable, and explained to the student."""

import html
import re

import pytest
from django.urls import reverse

from submissions.models import ScoreOverride
from tests.factories import PASSWORD, make_submission


@pytest.fixture
def graded(world):
    """Alice's submission, to which the checks gave 8/10."""
    return make_submission(world.assignment, world.alice, score=8)


def as_user(client, username):
    client.login(username=username, password=PASSWORD)
    # A 500 is an answer to check, not an exception to stop the test at.
    client.raise_request_exception = False
    return client


def override(client, submission, score, reason="moto bug on the day"):
    return client.post(reverse("override", args=[submission.pk]), {"score": score, "reason": reason})


def alerts(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'role="alert">(.*?)</p>', response.content.decode(), re.S)]


def shown_score(client, submission) -> str:
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    return re.search(r'id="score">(.*?)</span>', page, re.S).group(1).strip()


@pytest.mark.parametrize("score", ["11", "15", "99999999999999999999", "-1", "-99999999999999999999"])
def test_a_score_outside_zero_to_the_maximum_is_refused_with_a_form_error(client, graded, score):
    as_user(client, "ada")
    response = override(client, graded, score)
    assert response.status_code == 302
    assert alerts(client.get(response.url)) == ["Override refused: the score must be between 0 and 10."]
    assert not ScoreOverride.objects.exists()
    assert shown_score(client, graded) == "8/10"


def test_the_bounds_are_inclusive(client, graded):
    as_user(client, "ada")
    assert alerts(client.get(override(client, graded, 10).url)) == ["Score overridden."]
    assert shown_score(client, graded) == "10/10"
    assert alerts(client.get(override(client, graded, 0).url)) == ["Score overridden."]
    assert shown_score(client, graded) == "0/10"


def test_a_score_that_is_not_a_whole_number_says_so(client, graded):
    as_user(client, "ada")
    response = override(client, graded, "8.5")
    assert alerts(client.get(response.url)) == ["Override refused: the score must be a whole number."]


def test_a_missing_reason_is_the_only_complaint_when_the_score_is_fine(client, graded):
    as_user(client, "ada")
    response = override(client, graded, 9, reason="   ")
    assert alerts(client.get(response.url)) == ["Override refused: an override needs a reason."]
    assert not ScoreOverride.objects.exists()


def test_the_student_sees_the_override_its_reason_and_what_the_checks_gave(client, graded):
    override(as_user(client, "ada"), graded, 9, reason="the audit was right; moto listed it late")
    as_user(client, "alice")
    page = client.get(reverse("submission", args=[graded.pk])).content.decode()
    assert shown_score(client, graded) == "9/10"
    assert "9/10, set by your instructor: the audit was right; moto listed it late; the checks gave 8/10." in page
    assert client.get(reverse("submission_status", args=[graded.pk])).json()["score"] == 9


def test_the_reason_is_shown_escaped(client, graded):
    override(as_user(client, "ada"), graded, 9, reason="<b>bold</b>")
    page = as_user(client, "alice").get(reverse("submission", args=[graded.pk])).content.decode()
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_an_override_can_be_removed_and_the_removal_is_kept_in_the_history(client, world, graded):
    as_user(client, "ada")
    assert alerts(client.get(override(client, graded, 9).url)) == ["Score overridden."]
    response = client.post(reverse("override_remove", args=[graded.pk]), {"reason": "re-graded by the checks"})
    assert response.status_code == 302
    assert alerts(client.get(response.url)) == ["Override removed: the checks' score counts again."]
    assert shown_score(client, graded) == "8/10"
    history = [(o.score, o.created_by.username, o.reason) for o in graded.overrides.all()]
    assert history == [(None, "ada", "re-graded by the checks"), (9, "ada", "moto bug on the day")]
    page = client.get(reverse("submission", args=[graded.pk])).content.decode()
    assert re.search(r"<li>.*: override removed by ada: re-graded by the checks</li>", page)
    assert re.search(r"<li>.*: 9 by ada: moto bug on the day</li>", page)
    student_page = as_user(client, "alice").get(reverse("submission", args=[graded.pk])).content.decode()
    assert "set by your instructor" not in student_page and "moto bug" not in student_page


def test_after_a_removal_a_new_override_counts_again(client, graded):
    as_user(client, "ada")
    override(client, graded, 9)
    client.post(reverse("override_remove", args=[graded.pk]), {})
    override(client, graded, 7, reason="second look")
    assert shown_score(client, graded) == "7/10"


def test_removing_when_there_is_no_override_says_so_and_records_nothing(client, graded):
    as_user(client, "ada")
    response = client.post(reverse("override_remove", args=[graded.pk]), {})
    assert response.status_code == 302
    assert alerts(client.get(response.url)) == ["There is no override to remove."]
    assert not ScoreOverride.objects.exists()


def test_a_student_can_neither_override_nor_remove(client, graded):
    override(as_user(client, "ada"), graded, 9)
    as_user(client, "alice")
    assert override(client, graded, 10).status_code == 403
    assert client.post(reverse("override_remove", args=[graded.pk]), {}).status_code == 403
    assert [o.score for o in graded.overrides.all()] == [9]


def test_the_gradebook_counts_the_override_and_stops_when_it_is_removed(client, world, graded):
    as_user(client, "ada")
    override(client, graded, 9)
    book = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    assert re.search(r'<tr data-student="alice">.*?<td class="score">9/10\*</td>', book, re.S)
    client.post(reverse("override_remove", args=[graded.pk]), {})
    book = client.get(reverse("gradebook", args=[world.assignment.pk])).content.decode()
    assert re.search(r'<tr data-student="alice">.*?<td class="score">8/10</td>', book, re.S)


def test_the_admin_refuses_an_override_outside_the_bounds_too(client, world, graded):
    as_user(client, "admin")
    response = client.post(
        "/admin/submissions/scoreoverride/add/",
        {
            "submission": graded.pk,
            "score": 15,
            "reason": "bonus",
            "created_by": world.ada.pk,
            "created_at_0": "2026-01-01",
            "created_at_1": "12:00:00",
        },
    )
    assert response.status_code == 200 and "the score must be between 0 and 10." in response.content.decode()
    assert not ScoreOverride.objects.exists()
