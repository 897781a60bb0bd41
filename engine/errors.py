class InfrastructureError(Exception):
    """The grader, not the submission, failed: the run must not count against the student."""


class SubmissionError(ValueError):
    """The submission cannot be run as given (no Python file, bad zip, ...): the student must fix it."""
