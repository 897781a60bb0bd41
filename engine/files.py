"""A submission's files: validated, unpacked safely, and its entry point chosen.

Uploads are hostile: every name is checked before anything is written, and
zips are read with size limits counted on the *decompressed* bytes.
"""

from __future__ import annotations

import errno
import io
import posixpath
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import SubmissionError

MAX_FILES = 50
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024
MAX_ZIP_RATIO = 100  # a member that inflates more than this is a zip bomb, not a lab
# Folders and junk entries count too: the listing is checked before any member is read.
ZIP_ENTRIES_PER_FILE = 4
MAX_ZIP_ENTRIES = MAX_FILES * ZIP_ENTRIES_PER_FILE
# Linux filesystems (ext4, tmpfs) refuse a longer path component with ENAMETOOLONG.
MAX_NAME_BYTES = 255
# Far below PATH_MAX (4096), which must also hold the run directory's own path.
MAX_PATH_BYTES = 1024
# No lab nests folders this deep; deeper only makes staging slow or fail.
MAX_FOLDER_DEPTH = 16
ENTRY_POINT_DEFAULT = "main.py"
# Control, format (e.g. right-to-left override), surrogate (undecodable bytes), private use.
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co"}
_ZIP_UTF8_FLAG = 0x800


@dataclass(frozen=True)
class SubmittedFile:
    name: str  # a relative POSIX path, already validated
    content: bytes


def clean_name(raw: str) -> str:
    """A safe relative path, or SubmissionError saying why not."""
    if not raw or "\x00" in raw:
        raise SubmissionError("a file has an empty or invalid name")
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in raw):
        raise SubmissionError(f"file name {raw!r} contains control or invisible characters: rename the file")
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise SubmissionError(f"file name {raw!r} is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise SubmissionError(f"file name {raw!r} points outside the submission")
    if not parts:
        raise SubmissionError(f"file name {raw!r} is empty")
    return posixpath.join(*parts)


def from_uploads(uploads: list[tuple[str, bytes]]) -> list[SubmittedFile]:
    """Files as uploaded: plain files, or exactly one .zip unpacked."""
    if not uploads:
        raise SubmissionError("the submission is empty: upload a .py file, several files, or a .zip")
    if len(uploads) == 1 and uploads[0][0].lower().endswith(".zip"):
        return unpack_zip(uploads[0][1])
    files = [SubmittedFile(clean_name(posixpath.basename(name.replace("\\", "/"))), data) for name, data in uploads]
    return _validated(files)


def from_folder(entries: list[tuple[str, bytes]]) -> list[SubmittedFile]:
    """Files of a folder, keeping their relative paths."""
    return _validated([SubmittedFile(clean_name(name), data) for name, data in entries])


def unpack_zip(
    data: bytes, *, max_files: int = MAX_FILES, max_total_bytes: int = MAX_TOTAL_BYTES
) -> list[SubmittedFile]:
    """The zip's files, safely: every limit is checked before a member is read. An assignment
    package (engine.package_store) is larger than a submission, so it passes its own limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SubmissionError(f"the .zip file is damaged or not a zip: {error}") from None
    if len(members) > max_files * ZIP_ENTRIES_PER_FILE:
        raise SubmissionError(f"the .zip holds {len(members)} entries; at most {max_files} files are accepted")
    files = []
    total = 0
    for member in members:
        if member.is_dir() or _is_junk(member.filename):
            continue
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SubmissionError(f"the .zip holds a symbolic link ({member.filename}); send the file itself")
        name = clean_name(_member_name(member))
        if member.file_size > MAX_FILE_BYTES:
            raise SubmissionError(f"{name} is {member.file_size} bytes unpacked; the limit is {MAX_FILE_BYTES}")
        if (
            member.compress_size
            and member.file_size / member.compress_size > MAX_ZIP_RATIO
            and member.file_size > 64 * 1024
        ):
            raise SubmissionError(f"{name} unpacks {member.file_size // member.compress_size}x: refused as a zip bomb")
        total += member.file_size
        if total > max_total_bytes:
            raise SubmissionError(f"the .zip unpacks to more than {max_total_bytes} bytes")
        files.append(SubmittedFile(name, _read_member(archive, member)))
    return _validated(_strip_common_folder(files), max_files=max_files, max_total_bytes=max_total_bytes)


def _member_name(member: zipfile.ZipInfo) -> str:
    """The member's name as UTF-8; zipfile decodes unflagged names as cp437."""
    if member.flag_bits & _ZIP_UTF8_FLAG or member.filename.isascii():
        return member.filename
    try:
        return member.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        raise SubmissionError(f"a file name in the .zip is not valid UTF-8 ({member.filename!r}): rename it") from None


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    # The header's size can lie: read at most one byte past it and compare.
    try:
        with archive.open(member) as handle:
            content = handle.read(member.file_size + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as error:
        raise SubmissionError(f"cannot read {member.filename} from the .zip: {error}") from None
    if len(content) != member.file_size:
        raise SubmissionError(f"{member.filename} in the .zip is corrupt (its size does not match)")
    return content


def _is_junk(name: str) -> bool:
    return name.startswith("__MACOSX/") or posixpath.basename(name) in (".DS_Store", "Thumbs.db")


def _strip_common_folder(files: list[SubmittedFile]) -> list[SubmittedFile]:
    """A zip of a folder: run from inside the folder, as the student did."""
    tops = {f.name.split("/", 1)[0] for f in files}
    if len(tops) == 1 and all("/" in f.name for f in files):
        return [SubmittedFile(f.name.split("/", 1)[1], f.content) for f in files]
    return files


def _validated(
    files: list[SubmittedFile], *, max_files: int = MAX_FILES, max_total_bytes: int = MAX_TOTAL_BYTES
) -> list[SubmittedFile]:
    if not files:
        raise SubmissionError("the submission holds no files")
    if len(files) > max_files:
        raise SubmissionError(f"{len(files)} files submitted; at most {max_files} are accepted")
    _check_names([f.name for f in files])
    for f in files:
        if len(f.content) > MAX_FILE_BYTES:
            raise SubmissionError(f"{f.name} is {len(f.content)} bytes; the limit is {MAX_FILE_BYTES}")
    if sum(len(f.content) for f in files) > max_total_bytes:
        raise SubmissionError(f"the submission is larger than {max_total_bytes} bytes")
    if not any(f.name.endswith(".py") for f in files):
        raise SubmissionError("the submission holds no Python (.py) file")
    return files


def _check_names(names: list[str]) -> None:
    """Names the filesystem can hold together as one tree, or SubmissionError naming the file."""
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SubmissionError(f"two files share the name {duplicates[0]}")
    # Lengths and depth first: they bound the work of the clash check below.
    for name in names:
        _check_length_and_depth(name)
    folder = _file_and_folder_clash(names)
    if folder:
        raise SubmissionError(f"{_shown(folder)} is both a file and a folder in the submission: rename one of them")


def _check_length_and_depth(name: str) -> None:
    parts = name.split("/")
    for part in parts:
        if len(part.encode()) > MAX_NAME_BYTES:
            raise SubmissionError(
                f"{_shown(name)}: the name {_shown(part)} is longer than {MAX_NAME_BYTES} bytes: shorten it"
            )
    if len(name.encode()) > MAX_PATH_BYTES:
        raise SubmissionError(f"{_shown(name)}: the path is longer than {MAX_PATH_BYTES} bytes: shorten it")
    if len(parts) - 1 > MAX_FOLDER_DEPTH:
        raise SubmissionError(f"{_shown(name)} is more than {MAX_FOLDER_DEPTH} folders deep")


def _file_and_folder_clash(names: list[str]) -> str | None:
    """A name that some other file needs as a folder (data.txt beside data.txt/notes.txt)."""
    # Exact equality only: Linux names are bytes, so Data.txt and data.txt can coexist.
    files = set(names)
    for name in names:
        parts = name.split("/")
        for end in range(1, len(parts)):
            folder = "/".join(parts[:end])
            if folder in files:
                return folder
    return None


def _shown(name: str) -> str:
    """A name short enough to read in feedback: over-long names are the point of some refusals."""
    return name if len(name) <= 80 else name[:60] + "…" + name[-10:]


def choose_entry_point(files: list[SubmittedFile], requested: str | None = None) -> str:
    """The only .py file, or the one the student names, or main.py."""
    scripts = sorted(f.name for f in files if f.name.endswith(".py"))
    if requested:
        if requested not in scripts:
            raise SubmissionError(f"the entry point {requested} is not among the submitted Python files")
        return requested
    if len(scripts) == 1:
        return scripts[0]
    if ENTRY_POINT_DEFAULT in scripts:
        return ENTRY_POINT_DEFAULT
    raise SubmissionError(f"several Python files ({', '.join(scripts)}) and no main.py: name the one to run")


def sources_of(files: list[SubmittedFile]) -> dict[str, str]:
    return {f.name: f.content.decode("utf-8", "replace") for f in files if f.name.endswith(".py")}


INPUT_FILE_BYTES = 64 * 1024


def input_files_of(files: list[SubmittedFile]) -> dict[str, str]:
    """The run's other UTF-8 text files up to INPUT_FILE_BYTES (data the checks may compare with)."""
    texts = {}
    for f in files:
        if f.name.endswith(".py") or len(f.content) > INPUT_FILE_BYTES:
            continue
        try:
            texts[f.name] = f.content.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


def write_tree(files: list[SubmittedFile], root: Path) -> None:
    """Stage the files, readable by the sandbox uid, writable by nobody there.

    Callers may build SubmittedFiles without the validation above (run_submission
    from tests and the CLI), so names are checked again here, and anything the
    filesystem still refuses is the submission's fault, not the grader's.
    """
    for f in files:
        if clean_name(f.name) != f.name:
            raise SubmissionError(f"{_shown(f.name)!r} is not a clean relative path")
    _check_names([f.name for f in files])
    # Outside the try: a run directory that cannot be made is the grader's fault.
    root.mkdir(mode=0o755)
    for f in files:
        try:
            _write_file(root, f)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as error:
            raise SubmissionError(
                f"{_shown(f.name)} cannot be staged: a file and a folder share a name on its path ({error.strerror})"
            ) from None
        except OSError as error:
            if error.errno != errno.ENAMETOOLONG:
                raise  # e.g. a full disk: the grader's fault, not the student's
            raise SubmissionError(f"{_shown(f.name)} cannot be staged: its name is too long") from None


def _write_file(root: Path, f: SubmittedFile) -> None:
    target = root / f.name
    for parent in reversed(target.relative_to(root).parents[:-1]):
        (root / parent).mkdir(mode=0o755, exist_ok=True)
    target.write_bytes(f.content)
    target.chmod(0o644)


def read_paths(paths: list[str]) -> list[tuple[str, bytes]]:
    """Files named on a command line, as (name, content) uploads."""
    uploads = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise SubmissionError(f"cannot read {raw}: no such file")
        try:
            uploads.append((path.name, path.read_bytes()))
        except OSError as error:
            raise SubmissionError(f"cannot read {raw}: {error.strerror}") from None
    return uploads
