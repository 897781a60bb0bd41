"""The grading core: runs a submission in a sandbox against a recording moto
server and evaluates checks over the record. Plain Python, no Django import:
the CLI, the Celery worker and the tests all drive this one path."""
