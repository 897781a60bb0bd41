"""Re-checks in bulk (issue 9, item 7): many stored records are read, evaluated and written in
batches, with the same scores as re-checking one by one, and the job's progress reaches M of M.
The 1,000-submission timing is bench/bulk_recheck.py."""

import pytest
from django.urls import reverse

from engine.errors import InfrastructureError
from engine.grading import evaluate
from engine.record import RunRecord
from submissions import services, tasks
from submissions.models import BulkJob, Submission
from tests import records
from tests.factories import PASSWORD, make_submission


def record_kinds() -> list[dict]:
    """Stored run records that score differently: every check passes, some do, none do."""
    correct = records.correct_run()
    no_cleanup = records.audits(records.uploads_three())
    uploads_only = records.uploads_three()
    two_files = records.ScriptRun().create_bucket("lab-alice").put("lab-alice", "a.txt", tags=records.LAB_TAG)
    nothing = records.ScriptRun().prints("hello\n")
    return [run.record().to_dict() for run in (correct, no_cleanup, uploads_only, two_files, nothing)]


def stored(world, count: int) -> list[Submission]:
    kinds = record_kinds()
    students = [world.alice, world.bob]
    return [
        make_submission(world.assignment, students[i % 2], score=0, run_record=kinds[i % len(kinds)])
        for i in range(count)
    ]


def start_recheck(world, submissions, django_capture_on_commit_callbacks) -> BulkJob:
    with django_capture_on_commit_callbacks(execute=True):
        return services.bulk_job_start(
            kind=BulkJob.Kind.RECHECK,
            submissions=Submission.objects.filter(pk__in=[s.pk for s in submissions]),
            description="all",
            by=world.admin,
            assignment=world.assignment,
        )


def deliver(enqueued, how_many: int | None = None) -> None:
    """Run the queued admin messages in this process, as a worker on the admin queue would."""
    todo = [m for m in enqueued if m[2].get("queue") == "admin"]
    for name, args, _ in todo[:how_many]:
        getattr(tasks, name).apply(args)
        enqueued.remove((name, args, {"queue": "admin"}))


def one_by_one(submission: Submission) -> tuple[int, int, list[tuple]]:
    results = evaluate(RunRecord.from_dict(submission.run_record), submission.assignment.engine_assignment())
    outcomes = [(r.id, r.passed, r.points, r.max_points, r.feedback, r.error) for r in results]
    return sum(r.points for r in results), sum(r.max_points for r in results), outcomes


def as_stored(submission: Submission) -> tuple[int, int, list[tuple]]:
    submission.refresh_from_db()
    outcomes = [(o.check_id, o.passed, o.points, o.max_points, o.feedback, o.error) for o in submission.outcomes.all()]
    return submission.score, submission.max_score, outcomes


def test_a_bulk_recheck_gives_the_same_scores_and_outcomes_as_rechecking_one_by_one(
    world, enqueued, django_capture_on_commit_callbacks
):
    subs = stored(world, 45)
    expected = {s.pk: one_by_one(s) for s in subs}
    assert len({score for score, _, _ in expected.values()}) >= 4  # the records really differ

    start_recheck(world, subs, django_capture_on_commit_callbacks)
    deliver(enqueued)
    assert {s.pk: as_stored(s) for s in subs} == expected

    single = stored(world, 1)[0]
    services.submission_recheck(submission=single)
    assert as_stored(single) == one_by_one(single)


def test_a_bulk_recheck_of_300_submissions_takes_a_few_messages_and_queries_not_a_few_per_submission(
    world, enqueued, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    subs = stored(world, 300)
    start_recheck(world, subs, django_capture_on_commit_callbacks)
    assert 1 <= len(enqueued) <= 3, f"{len(enqueued)} messages for 300 submissions"
    with django_assert_max_num_queries(40):
        deliver(enqueued)
    assert all(as_stored(s)[0] == one_by_one(s)[0] for s in subs[:10])


def test_the_progress_of_a_bulk_recheck_is_shown_and_reaches_m_of_m(
    world, enqueued, django_capture_on_commit_callbacks, client, settings
):
    settings.RECHECK_BATCH_SIZE = 40
    subs = stored(world, 150)
    job = start_recheck(world, subs, django_capture_on_commit_callbacks)
    client.login(username="admin", password=PASSWORD)

    seen = []
    real_evaluate = services.evaluate_many

    def watching(records, assignment):  # the progress a polling page sees while the work goes on
        seen.append(client.get(reverse("job_status", args=[job.pk])).json()["done"])
        return real_evaluate(records, assignment)

    services.evaluate_many = watching
    try:
        deliver(enqueued)
    finally:
        services.evaluate_many = real_evaluate
    assert sorted(set(seen)) == [0, 40, 80, 120], "progress is written after every batch"

    job.refresh_from_db()
    assert (job.done, job.total) == (150, 150) and job.finished and job.finished_at is not None
    assert "150 of 150: finished" in client.get(reverse("job", args=[job.pk])).content.decode()


def test_a_corrupt_record_in_a_bulk_recheck_ends_not_gradable_and_the_others_are_rechecked(
    world, enqueued, django_capture_on_commit_callbacks
):
    subs = stored(world, 6)
    corrupt = subs[2]
    Submission.objects.filter(pk=corrupt.pk).update(run_record={"calls": [{"seq": "not a call"}]})
    job = start_recheck(world, subs, django_capture_on_commit_callbacks)
    deliver(enqueued)

    corrupt.refresh_from_db()
    assert corrupt.status == Submission.Status.NOT_GRADABLE
    assert "run record" in corrupt.problem and "re-execute" in corrupt.problem
    others = [s for s in subs if s.pk != corrupt.pk]
    assert all(as_stored(s) == one_by_one(s) for s in others)
    job.refresh_from_db()
    assert job.done == job.total == 6


@pytest.mark.parametrize("status", [Submission.Status.QUEUED, Submission.Status.RUNNING])
def test_a_bulk_recheck_leaves_alone_a_submission_that_is_being_graded_again(
    world, enqueued, django_capture_on_commit_callbacks, status
):
    subs = stored(world, 3)
    start_recheck(world, subs, django_capture_on_commit_callbacks)
    Submission.objects.filter(pk=subs[1].pk).update(status=status)  # a re-execution started meanwhile
    deliver(enqueued)
    assert as_stored(subs[1])[0] == 0 and as_stored(subs[0]) == one_by_one(subs[0])


def test_a_bulk_recheck_does_not_overwrite_a_grade_stored_while_it_ran(
    world, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    subs = stored(world, 3)
    start_recheck(world, subs, django_capture_on_commit_callbacks)
    real_evaluate = services.evaluate_many

    def evaluate_while_a_worker_stores(records, assignment):
        Submission.objects.filter(pk=subs[0].pk).update(score=7, times_graded=1)  # a re-execution finished
        return real_evaluate(records, assignment)

    monkeypatch.setattr(services, "evaluate_many", evaluate_while_a_worker_stores)
    deliver(enqueued)
    assert as_stored(subs[0])[0] == 7
    assert as_stored(subs[1]) == one_by_one(subs[1])


def test_a_re_check_whose_checks_sandbox_fails_keeps_the_stored_grades_and_the_next_one_applies(
    world, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    subs = stored(world, 2)
    before = [as_stored(submission) for submission in subs]
    real_evaluate = services.evaluate_many

    def broken(records, assignment):  # the checks sandbox of the day cannot start: ours, not the students'
        raise InfrastructureError("the checks zygote failed to start")

    monkeypatch.setattr(services, "evaluate_many", broken)
    start_recheck(world, subs, django_capture_on_commit_callbacks)
    deliver(enqueued)
    for submission, stored_before in zip(subs, before, strict=True):
        submission.refresh_from_db()
        assert submission.status == Submission.Status.GRADED and as_stored(submission) == stored_before

    monkeypatch.setattr(services, "evaluate_many", real_evaluate)  # fixed and deployed
    start_recheck(world, subs, django_capture_on_commit_callbacks)
    deliver(enqueued)
    for submission in subs:
        submission.refresh_from_db()
        assert (submission.status, submission.problem) == (Submission.Status.GRADED, "")
        assert as_stored(submission) == one_by_one(submission)
