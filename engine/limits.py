from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What one run may use. Defaults are the spec's."""

    wall_s: float = 30.0
    memory_mib: int = 512  # address space per process (RLIMIT_AS)
    processes: int = 64  # per run: each run has its own uid
    output_kib: int = 64  # kept per stream; the rest is dropped and flagged
    file_size_mib: int = 16  # largest file the script may write
    disk_mib: int = 64  # HOME (with the working dir), /tmp and /dev/shm together: one tmpfs
    # Unused: /tmp is part of disk_mib. Kept so that stored limits dicts still load.
    tmp_mib: int = 16
    open_files: int = 256
    recorded_calls: int = 5000  # S3 calls recorded in detail; the rest are counted
    # The run's mock (its moto server) has a budget of its own, spent by the script's requests.
    mock_memory_mib: int = 384  # above what it holds after import; object bodies live here
    mock_threads: int = 48  # RLIMIT_NPROC of the mock uid: threads count as processes
    mock_connections: int = 32  # open at once; more are closed on arrival
    mock_record_mib: int = 32  # the record file it writes
    mock_stop_s: float = 5.0  # to finish its record after the script ended, then it is killed

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown limit(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
