from engine.assignments import load
from engine.grading import evaluate
from engine.record import RunRecord
from tests.records import correct_run


def test_a_record_survives_a_json_round_trip_unchanged():
    record = correct_run().record()
    assert RunRecord.from_json(record.to_json()) == record


def test_rechecking_a_stored_record_gives_the_same_grade():
    record = correct_run().record()
    assignment = load("s3-content-manager")
    assert evaluate(RunRecord.from_json(record.to_json()), assignment) == evaluate(record, assignment)
    assert sum(r.points for r in evaluate(record, assignment)) == 10
