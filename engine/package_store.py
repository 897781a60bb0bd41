"""Assignment packages as archive bytes: what the database stores for each published version.

A worker on any machine turns a version's bytes (a .zip of the package folder, at
its root or inside one top folder) into an Assignment by extracting them once into
a cache folder named by their sha256. Extraction goes to a temporary folder beside
it and is renamed into place, so concurrent workers never see half a package: the
first rename wins and the others throw their copy away. Plain Python, no Django.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from engine import assignments
from engine.errors import SubmissionError
from engine.files import SubmittedFile, unpack_zip, write_tree

CACHE_ENV = "LABGRADER_PACKAGE_CACHE"
# A package is a lab's worth of small text files: its scripts, checks and a data file or two.
MAX_ARCHIVE_BYTES = 5 * 1024 * 1024
MAX_FILES = 400
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
# A version no grading has loaded for this long leaves the cache (its bytes stay in the
# database: the next use extracts it again); a staging folder this old was a killed worker's.
UNUSED_FOR_S = 30 * 24 * 3600
STAGING_LEFT_FOR_S = 3600


class PackageRejected(ValueError):
    """The bytes are not an assignment package; the message says why, for its author."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_dir() -> Path:
    """LABGRADER_PACKAGE_CACHE, or labgrader-packages under the system temp dir; ours alone.

    A folder someone else could write to (a planted <sha256>/checks/ in a shared /tmp)
    would grade submissions with their checks, and plant state probes in the mocks.
    """
    root = Path(os.environ.get(CACHE_ENV) or Path(tempfile.gettempdir()) / "labgrader-packages")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = root.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise PermissionError(f"{root}: the package cache must be a folder of the grader's, writable by it alone")
    return root


def unpack(data: bytes) -> list[SubmittedFile]:
    """The package's files, relative to the folder holding assignment.toml; PackageRejected if not one."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise PackageRejected(f"the package is {len(data)} bytes; the limit is {MAX_ARCHIVE_BYTES} (a .zip)")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise PackageRejected("the package is not a .zip file: zip the package folder (with assignment.toml)")
    try:
        files = unpack_zip(data, max_files=MAX_FILES, max_total_bytes=MAX_UNPACKED_BYTES)
    except SubmissionError as error:
        raise PackageRejected(str(error)) from None
    # Bytecode is not what the author reviewed: only sources are kept (Python compiles them again).
    files = [f for f in files if "__pycache__" not in f.name.split("/") and not f.name.endswith(".pyc")]
    if not any(f.name == assignments.MANIFEST for f in files):
        raise PackageRejected(
            f"the .zip has no {assignments.MANIFEST} at its top or inside one top folder: zip the package folder"
        )
    return files


def extract(data: bytes, *, cache: Path | None = None) -> Path:
    """The package folder of these bytes in the cache, extracted now unless it already was."""
    cache = cache or cache_dir()
    target = cache / sha256_of(data)
    if target.is_dir():
        return target
    files = unpack(data)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=cache))
    try:
        write_tree(files, staging / "package")
        try:
            (staging / "package").rename(target)
        except OSError:
            if not target.is_dir():
                raise  # not another worker's win: a real failure (a full disk)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    evict_unused(cache)  # on the rare way in of a new version, not on every load
    return target


def evict_unused(cache: Path, *, now: float | None = None) -> list[Path]:
    """Remove versions not loaded for UNUSED_FOR_S and staging folders killed workers left."""
    now = now or time.time()
    removed = []
    for entry in cache.iterdir():
        staging = entry.name.startswith(".incoming-")
        if not staging and len(entry.name) != 64:
            continue  # not ours
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if age > (STAGING_LEFT_FOR_S if staging else UNUSED_FOR_S):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def load(sha256: str, read: Callable[[], bytes], *, cache: Path | None = None) -> assignments.Assignment:
    """The Assignment stored under sha256; read() fetches its bytes only when not cached yet.

    ValueError when the bytes are not what sha256 names (a corrupt row) or not a package.
    """
    cache = cache or cache_dir()
    folder = cache / sha256
    if not folder.is_dir():
        data = read()
        if sha256_of(data) != sha256:
            raise ValueError(f"the stored package does not match its sha256 {sha256[:12]}…")
        folder = extract(data, cache=cache)
    else:
        with contextlib.suppress(OSError):
            os.utime(folder)  # in use: evict_unused leaves it
    return assignments.load_package(folder)


def load_archive(data: bytes, *, cache: Path | None = None) -> assignments.Assignment:
    """The Assignment of these bytes: PackageRejected (a ValueError) says what is wrong with them."""
    folder = extract(data, cache=cache)
    try:
        return assignments.load_package(folder)
    except ValueError as error:
        raise PackageRejected(str(error).replace(str(folder), "the package")) from None


def zip_folder(folder: Path) -> bytes:
    """A package folder as the bytes a version stores (sources only, no bytecode)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
                archive.write(path, relative.as_posix())
    return buffer.getvalue()
