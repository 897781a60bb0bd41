import csv
import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from submissions.models import CheckOutcome, Submission
from tests.factories import PASSWORD, make_assignment, make_submission


def login(client, username):
    client.login(username=username, password=PASSWORD)
    return client


def test_an_upload_through_the_form_creates_a_submission_and_redirects_to_it(client, world, enqueued):
    login(client, "alice")
    upload = SimpleUploadedFile("lab.py", b"import boto3\n")
    response = client.post(reverse("submit", args=[world.assignment.pk]), {"files": [upload]})
    submission = Submission.objects.get()
    assert response.url == reverse("submission", args=[submission.pk])


def test_a_refused_upload_shows_why_and_keeps_nothing(client, world, enqueued):
    login(client, "alice")
    upload = SimpleUploadedFile("notes.txt", b"no python here")
    response = client.post(reverse("submit", args=[world.assignment.pk]), {"files": [upload]}, follow=True)
    assert "Upload refused: the submission holds no Python (.py) file" in response.content.decode()
    assert not Submission.objects.exists()


def test_uploaded_source_and_output_are_shown_escaped_never_as_html(client, world):
    hostile = b"<script>alert('x')</script>"
    submission = make_submission(world.assignment, world.alice, score=1, source=hostile)
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        "stdout": "<img src=x onerror=1>",
        "stderr": "",
        "calls": [],
    }
    submission.save()
    page = login(client, "ada").get(reverse("submission", args=[submission.pk])).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def grade(submission, passes: dict[str, bool]):
    for position, (check_id, passed) in enumerate(passes.items()):
        CheckOutcome.objects.create(
            submission=submission,
            position=position,
            check_id=check_id,
            name=check_id,
            passed=passed,
            points=2 if passed else 0,
            max_points=2,
            feedback="",
        )


def test_the_gradebook_counts_the_best_or_latest_submission(client, world):
    best = make_submission(world.assignment, world.alice, score=9)
    grade(best, {"three_objects": True, "cleanup": True})
    later = make_submission(world.assignment, world.alice, score=4)
    grade(later, {"three_objects": True, "cleanup": False})
    make_submission(world.assignment, world.alice, status=Submission.Status.NOT_GRADABLE)
    rows = read_csv(login(client, "ada"), world.assignment)
    assert rows["alice"]["score"] == "9" and rows["alice"]["cleanup"] == "pass" and rows["alice"]["attempts"] == "2"
    assert rows["bob"]["score"] == "" and rows["bob"]["attempts"] == "0"
    world.assignment.counting = "latest"
    world.assignment.save()
    rows = read_csv(client, world.assignment)
    assert rows["alice"]["score"] == "4" and rows["alice"]["cleanup"] == "fail"


def test_the_gradebook_marks_late_and_overridden_scores(client, world):
    world.assignment.deadline = timezone.now() - timedelta(hours=1)
    world.assignment.save()
    late = make_submission(world.assignment, world.bob, score=10)
    rows = read_csv(login(client, "ada"), world.assignment)
    assert rows["bob"]["score"] == "8" and rows["bob"]["late"] == "yes"
    client.post(reverse("override", args=[late.pk]), {"score": 10, "reason": "extension granted"})
    rows = read_csv(client, world.assignment)
    assert rows["bob"]["score"] == "10" and rows["bob"]["overridden"] == "yes"


def test_the_gradebook_sorts_by_score_and_shows_the_charts(client, world):
    make_submission(world.assignment, world.alice, score=3)
    make_submission(world.assignment, world.bob, score=10)
    page = login(client, "ada").get(reverse("gradebook", args=[world.assignment.pk]) + "?sort=score").content.decode()
    assert page.index('data-student="bob"') < page.index('data-student="alice"')
    assert 'id="histogram"' in page and "Pass rate per check" in page


def read_csv(client, assignment) -> dict[str, dict]:
    response = client.get(reverse("gradebook_csv", args=[assignment.pk]))
    assert response["Content-Type"] == "text/csv"
    return {row["student"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}


def test_an_oversized_request_is_refused_with_a_413_page_that_leads_back(client, world, enqueued, settings):
    # The test client skips CSRF; that nothing parses the body first is shown over
    # real HTTP in tests/e2e/test_web_side.py.
    settings.MAX_UPLOAD_REQUEST_BYTES = 1000
    login(client, "alice")
    upload = SimpleUploadedFile("lab.py", b"#" * 5000)
    response = client.post(reverse("submit", args=[world.assignment.pk]), {"files": [upload]})
    page = response.content.decode()
    assert response.status_code == 413
    assert "Upload refused: the request is larger than 1000 bytes" in page
    assert f'href="{reverse("assignment", args=[world.assignment.pk])}"' in page
    assert not Submission.objects.exists()


def test_the_size_limit_sits_before_anything_that_reads_the_body(settings):
    order = settings.MIDDLEWARE
    limit = order.index("grader.middleware.RequestSizeLimitMiddleware")
    assert limit < order.index("django.middleware.csrf.CsrfViewMiddleware")
    assert limit < order.index("axes.middleware.AxesMiddleware")


def test_an_oversized_file_is_refused_from_its_declared_size(client, world, enqueued):
    login(client, "alice")
    upload = SimpleUploadedFile("huge.zip", b"0" * (5 * 1024 * 1024 + 1))
    response = client.post(reverse("submit", args=[world.assignment.pk]), {"files": [upload]}, follow=True)
    assert "huge.zip is 5242881 bytes; the limit is 5242880" in response.content.decode()
    assert not Submission.objects.exists()


def test_a_descending_score_sort_still_lists_ungraded_students_last(client, world):
    make_submission(world.assignment, world.alice, score=3)
    page = login(client, "ada").get(reverse("gradebook", args=[world.assignment.pk]) + "?sort=-score").content.decode()
    assert page.index('data-student="alice"') < page.index('data-student="bob"')


def test_a_job_page_leads_back_to_its_gradebook(client, world, enqueued):
    make_submission(
        world.assignment, world.alice, score=3, run_record={"exit_code": 0, "timed_out": False, "duration_s": 1}
    )
    login(client, "admin")
    response = client.post(reverse("rerun", args=[world.assignment.pk]), {"kind": "recheck"}, follow=True)
    assert reverse("gradebook", args=[world.assignment.pk]) in response.content.decode()


def test_an_instructor_sets_the_deadline_policy_and_limits(client, world):
    login(client, "ada")
    url = reverse("assignment_settings", args=[world.assignment.pk])
    response = client.post(
        url,
        {
            "deadline": "2026-12-01T23:59",
            "late_policy": "hard",
            "late_penalty_percent": 0,
            "counting": "latest",
            "max_submissions": 5,
            "max_per_hour": 3,
        },
    )
    assert response.status_code == 302
    world.assignment.refresh_from_db()
    assert (world.assignment.late_policy, world.assignment.counting) == ("hard", "latest")
    assert (world.assignment.max_submissions, world.assignment.max_per_hour) == (5, 3)
    assert world.assignment.deadline.strftime("%Y-%m-%d %H:%M") == "2026-12-01 23:59"


def test_a_penalty_over_100_percent_is_refused(client, world):
    login(client, "ada")
    response = client.post(
        reverse("assignment_settings", args=[world.assignment.pk]),
        {"late_policy": "penalty", "late_penalty_percent": 150, "counting": "best"},
    )
    assert "A penalty is at most 100%." in response.content.decode()


def test_a_student_sees_why_the_mock_stopped_early_and_which_calls_were_refused(client, world):
    submission = make_submission(world.assignment, world.alice, score=2)
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        "mock_incident": "the mock was still busy 5 s after the script ended and was stopped",
        "calls": [
            {
                "seq": 1,
                "operation": "RefusedService",
                "method": "POST",
                "path": "/",
                "status": 403,
                "error_code": "ServiceNotServed",
                "params": {"service": "cloudformation"},
            },
        ],
    }
    submission.save()
    page = login(client, "alice").get(reverse("submission", args=[submission.pk])).content.decode()
    assert "The mock S3 stopped early: the mock was still busy 5 s after the script ended" in page
    assert "cloudformation is not served in this lab: the call never ran" in page


def test_the_timeline_marks_a_call_moto_accepted_but_real_s3_refuses(client, world):
    submission = make_submission(world.assignment, world.alice, score=8)
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        # Stored before the mark existed: the page marks it from the recorded call alone.
        "calls": [
            {
                "seq": 1,
                "operation": "CreateBucket",
                "method": "PUT",
                "path": "/Intern_Content_alice",
                "status": 200,
                "bucket": "Intern_Content_alice",
                "changes": [{"bucket": "Intern_Content_alice", "created": True}],
            }
        ],
    }
    submission.save()
    page = login(client, "alice").get(reverse("submission", args=[submission.pk])).content.decode()
    assert (
        "Real S3 refuses the bucket name Intern_Content_alice (upper-case letters and underscores):"
        " CreateBucket would fail with InvalidBucketName." in page
    )
    assert 'class="ok aws-refused"' in page


def test_the_timeline_shows_each_print_between_the_calls_it_happened_between(client, world):
    submission = make_submission(world.assignment, world.alice, score=2)
    stdout = "sizes from disk: 17\nlisting now\ndone\n"
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        "stdout": stdout,
        "calls": [
            {
                "seq": 1,
                "operation": "ListObjectsV2",
                "method": "GET",
                "path": "/b",
                "status": 200,
                "bucket": "b",
                "stdout_before": stdout.index("listing"),
                "stdout_after": stdout.index("done"),
            },
        ],
    }
    submission.save()
    page = login(client, "alice").get(reverse("submission", args=[submission.pk])).content.decode()
    timeline = page[page.index('<table class="timeline">') :]
    first, listing, after = (timeline.index(t) for t in ("sizes from disk: 17", "ListObjectsV2", "listing now\ndone"))
    assert first < listing < after


def test_the_timeline_says_why_a_request_was_refused_or_not_counted(client, world):
    submission = make_submission(world.assignment, world.alice, score=2)
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        "calls": [
            {
                "seq": 1,
                "operation": "RefusedRequest",
                "method": "GET",
                "path": "/b/k",
                "status": 403,
                "params": {"reason": "several subresources (acl, tagging) in one request"},
            },
            {
                "seq": 2,
                "operation": "Unconfirmed",
                "method": "GET",
                "path": "/b",
                "status": 200,
                "params": {"named": "ListObjects", "root": "AccelerateConfiguration"},
            },
        ],
    }
    submission.save()
    page = login(client, "alice").get(reverse("submission", args=[submission.pk])).content.decode()
    assert "refused before it ran: several subresources (acl, tagging) in one request" in page
    assert "asked like ListObjects, but the answer was AccelerateConfiguration: not counted as one" in page


def test_a_dynamodb_labs_timeline_names_tables_parameters_and_items(client, world):
    lab07 = make_assignment(world.course, "dynamodb-inventory")
    submission = make_submission(lab07, world.alice, score=8)
    table = {"key_schema": [{"AttributeName": "sku", "KeyType": "HASH"}], "billing_mode": "PAY_PER_REQUEST"}
    item = {"sku": {"S": "A-100"}, "qty": {"N": "12"}}
    calls = [
        (
            "CreateTable",
            200,
            None,
            {"BillingMode": "PAY_PER_REQUEST"},
            [{"resource": "inventory-alice", "value": table}],
        ),
        (
            "BatchWriteItem",
            200,
            None,
            {"request_counts": {"inventory-alice": {"PutRequest": 2}}},
            [
                {"resource": "inventory-alice", "value": {**table, "item_count": 2}},
                {"resource": "inventory-alice", "entry": '{"sku": "A-100"}', "value": item},
                {"resource": "inventory-alice", "entry": '{"sku": "A-103"}', "value": {**item, "sku": {"S": "A-103"}}},
            ],
        ),
        ("Scan", 200, None, {"Limit": 5, "ExclusiveStartKey": {"sku": {"S": "A-100"}}}, []),
        ("UpdateItem", 400, "ConditionalCheckFailedException", {"ConditionExpression": "qty >= :n"}, []),
    ]
    submission.run_record = {
        "exit_code": 0,
        "timed_out": False,
        "duration_s": 1,
        "calls": [
            {
                "seq": n,
                "operation": operation,
                "method": "POST",
                "path": "/",
                "status": status,
                "error_code": error,
                "params": params,
                "service": "dynamodb",
                "resources": {"TableName": "inventory-alice"},
                "service_changes": changes,
            }
            for n, (operation, status, error, params, changes) in enumerate(calls, start=1)
        ],
    }
    submission.save()
    page = login(client, "alice").get(reverse("submission", args=[submission.pk])).content.decode()
    assert "DynamoDB calls, in order with what the script printed" in page
    assert "inventory-alice: 2 PutRequest" in page
    assert "inventory-alice: 2 items written" in page and "inventory-alice (2 items)" in page
    assert "Limit=5" in page and "ExclusiveStartKey: {&quot;sku&quot;" in page
    assert "400 ConditionalCheckFailedException" in page and "ConditionExpression=qty &gt;= :n" in page
