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


def records_of_every_shape() -> list[RunRecord]:
    from tests.adversarial import adversarial_run
    from tests.unit.checks.dynamodb.records import correct_run as inventory_run

    failed = correct_run().record()
    failed.calls[0].params = {"tags": [("Project", "Intern-Labs")], "nested": {"sizes": (1, 2)}}
    failed.mock_incident = "stopped"
    return [
        correct_run().record(),
        failed,
        adversarial_run(buckets=20, uploads=10, modules=2, module_size=1024).record(),
        inventory_run().record(),
    ]


def test_a_records_dict_is_exactly_what_dataclasses_asdict_makes_of_it():
    from dataclasses import asdict

    for record in records_of_every_shape():
        made = record.to_dict()
        assert made == asdict(record)
        assert type(made["calls"][0]["params"]) is dict
        # A copy, as asdict's: changing it leaves the record as it was.
        made["calls"][0]["params"]["changed"] = True
        assert "changed" not in record.calls[0].params
