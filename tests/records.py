"""Hand-built run records for unit tests: say what the script did, get the record moto would have made."""

from __future__ import annotations

from engine import fidelity
from engine.record import Call, Change, ObjectInfo, RunRecord

LAB_TAG = {"Project": "Intern-Labs"}
DOCUMENTED_SOURCE = "# S3 refuses to delete a bucket that is not empty (BucketNotEmpty)\n"


class ScriptRun:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.state: dict[str, dict[str, ObjectInfo]] = {}
        self.stdout = ""
        self.stderr = ""
        self.exit_code: int | None = 0
        self.timed_out = False
        self.sources = {"main.py": "import boto3\n"}
        self.stdin = "student\n"

    def _call(self, operation, method, bucket, key=None, status=200, error_code=None, params=None, changes=()):
        call = Call(
            seq=len(self.calls) + 1,
            operation=operation,
            method=method,
            path=f"/{bucket}/{key or ''}",
            status=status,
            bucket=bucket,
            key=key,
            error_code=error_code,
            params=params or {},
            changes=list(changes),
            # The script is single-threaded: what it printed so far came before the call.
            stdout_before=len(self.stdout),
            stdout_after=len(self.stdout),
        )
        self.calls.append(call)
        return self

    def create_bucket(self, bucket: str, **params) -> ScriptRun:
        """params: what the recorder notes of a CreateBucket (region, location_constraint)."""
        self.state[bucket] = {}
        return self._call("CreateBucket", "PUT", bucket, params=params, changes=[Change(bucket=bucket, created=True)])

    def put(
        self,
        bucket: str,
        key: str,
        size: int = 12,
        tags: dict | None = None,
        encoding: str = "utf-8",
        tagging_on_upload: bool = True,
        preview: str = "",
    ) -> ScriptRun:
        if bucket not in self.state:
            return self._call("PutObject", "PUT", bucket, key, 404, "NoSuchBucket")
        obj = ObjectInfo(size=size, tags=dict(tags or {}), encoding=encoding, preview=preview)
        self.state[bucket][key] = obj
        params = {"body_size": size}
        if tags and tagging_on_upload:
            params["tagging"] = dict(tags)
        return self._call("PutObject", "PUT", bucket, key, params=params, changes=[Change(bucket, key, obj=obj)])

    def tag_later(self, bucket: str, key: str, tags: dict) -> ScriptRun:
        old = self.state[bucket][key]
        obj = ObjectInfo(size=old.size, tags=dict(tags), encoding=old.encoding)
        self.state[bucket][key] = obj
        return self._call(
            "PutObjectTagging",
            "PUT",
            bucket,
            key,
            params={"tagging": dict(tags)},
            changes=[Change(bucket, key, obj=obj)],
        )

    def list(self, bucket: str, operation: str = "ListObjectsV2") -> ScriptRun:
        if bucket not in self.state:
            return self._call(operation, "GET", bucket, status=404, error_code="NoSuchBucket")
        return self._call(operation, "GET", bucket)

    def read_tags(self, bucket: str, key: str) -> ScriptRun:
        return self._call("GetObjectTagging", "GET", bucket, key)

    def delete_object(self, bucket: str, key: str) -> ScriptRun:
        self.state[bucket].pop(key, None)
        return self._call("DeleteObject", "DELETE", bucket, key, status=204, changes=[Change(bucket, key)])

    def delete_bucket(self, bucket: str) -> ScriptRun:
        if self.state.get(bucket):
            return self._call("DeleteBucket", "DELETE", bucket, status=409, error_code="BucketNotEmpty")
        self.state.pop(bucket, None)
        return self._call("DeleteBucket", "DELETE", bucket, status=204, changes=[Change(bucket)])

    def empty_and_delete(self, bucket: str) -> ScriptRun:
        self.list(bucket)
        for key in list(self.state[bucket]):
            self.delete_object(bucket, key)
        return self.delete_bucket(bucket)

    def prints(self, text: str) -> ScriptRun:
        self.stdout += text if text.endswith("\n") else text + "\n"
        return self

    def crashes(self, last_line: str = "RuntimeError: boom", exit_code: int = 1) -> ScriptRun:
        self.stderr += f'Traceback (most recent call last):\n  File "main.py", line 9\n{last_line}\n'
        self.exit_code = exit_code
        return self

    def times_out(self) -> ScriptRun:
        self.timed_out, self.exit_code = True, None
        return self

    def source(self, text: str) -> ScriptRun:
        self.sources = {"main.py": text}
        return self

    def record(self) -> RunRecord:
        return RunRecord(
            exit_code=self.exit_code,
            timed_out=self.timed_out,
            duration_s=1.0,
            stdout=self.stdout,
            stderr=self.stderr,
            calls=fidelity.annotate(self.calls),  # as the runner marks them
            final_state={b: dict(o) for b, o in self.state.items()},
            sources=dict(self.sources),
            entry_point="main.py",
            stdin=self.stdin,
            limits={"wall_s": 30},
        )


def uploads_three(bucket: str = "lab-alice", sizes=(11, 17, 23)) -> ScriptRun:
    """Creates the bucket and uploads a.txt (tagged), b.txt, c.txt."""
    run = ScriptRun().create_bucket(bucket)
    run.put(bucket, "a.txt", sizes[0], tags=LAB_TAG)
    run.put(bucket, "b.txt", sizes[1])
    return run.put(bucket, "c.txt", sizes[2])


def audits(run: ScriptRun, bucket: str = "lab-alice", tagged: str = "a.txt") -> ScriptRun:
    run.list(bucket)
    for key, obj in run.state[bucket].items():
        run.prints(f"{key}: {obj.size} bytes")
    run.read_tags(bucket, tagged)
    return run.prints("Tags of a.txt: Project = Intern-Labs")


def correct_run(bucket: str = "lab-alice") -> ScriptRun:
    run = audits(uploads_three(bucket), bucket)
    return run.empty_and_delete(bucket).source(DOCUMENTED_SOURCE)
