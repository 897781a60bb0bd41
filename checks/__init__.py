"""The library check modules are written with.

Each lab's checks live in its assignment package (assignments/<slug>/checks/):
one check per module, a pure function from a run record to a Verdict, run
confined by the grader (engine/check_host.py). Here: Verdict (checks.base),
questions about S3 runs (checks.evidence), prose in the sources
(checks.prose), and the package loader (checks.packaged).
"""
