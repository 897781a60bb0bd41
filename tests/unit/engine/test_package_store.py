"""engine.package_store: archive bytes -> an Assignment, extracted once per sha256 into a cache."""

import io
import os
import threading
import time
import zipfile
from pathlib import Path

import pytest

from engine import package_store
from engine.package_store import PackageRejected

LAB07 = Path(__file__).resolve().parents[3] / "assignments" / "dynamodb-inventory"


def zipped(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def lab07_entries(top: str = "") -> dict[str, bytes]:
    return {
        top + path.relative_to(LAB07).as_posix(): path.read_bytes()
        for path in LAB07.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_a_zip_of_the_package_folder_loads_as_the_assignment_from_the_repo(tmp_path):
    assignment = package_store.load_archive(package_store.zip_folder(LAB07), cache=tmp_path)
    assert assignment.slug == "dynamodb-inventory" and assignment.max_score == 10
    assert [f.name for f in assignment.provided_files] == ["inventory.csv"]
    assert assignment.load_check("items_loaded").ID == "items_loaded"


def test_a_zip_holding_the_package_inside_one_top_folder_loads_too(tmp_path):
    assignment = package_store.load_archive(zipped(lab07_entries("lab07/")), cache=tmp_path)
    assert assignment.package_dir.parent == tmp_path
    assert (assignment.package_dir / "assignment.toml").is_file()


def test_the_same_bytes_are_extracted_once_into_a_folder_named_by_their_sha256(tmp_path):
    data = package_store.zip_folder(LAB07)
    first = package_store.extract(data, cache=tmp_path)
    (first / "marker").write_text("kept")
    assert package_store.extract(data, cache=tmp_path) == first == tmp_path / package_store.sha256_of(data)
    assert (first / "marker").read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no staging folder left behind


def test_load_reads_the_bytes_only_when_the_cache_does_not_hold_them(tmp_path):
    data = package_store.zip_folder(LAB07)
    sha = package_store.sha256_of(data)
    reads = []
    for _ in range(3):
        package_store.load(sha, lambda: reads.append(1) or data, cache=tmp_path)
    assert len(reads) == 1


def test_bytes_that_do_not_match_their_sha256_are_refused(tmp_path):
    data = package_store.zip_folder(LAB07)
    with pytest.raises(ValueError, match="does not match its sha256"):
        package_store.load("0" * 64, lambda: data, cache=tmp_path)


def test_workers_extracting_the_same_package_at_once_all_get_the_whole_package(tmp_path):
    data = package_store.zip_folder(LAB07)
    folders, errors = [], []

    def worker():
        try:
            folders.append(package_store.extract(data, cache=tmp_path))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(folders)) == 1
    sources = [p for p in LAB07.rglob("*.py") if "__pycache__" not in p.parts]
    assert len(list(folders[0].rglob("*.py"))) == len(sources)
    assert [p.name for p in tmp_path.iterdir()] == [folders[0].name]


def test_bytecode_in_the_zip_is_dropped(tmp_path):
    entries = {**lab07_entries(), "checks/__pycache__/items_loaded.cpython-312.pyc": b"\x00bytecode"}
    folder = package_store.extract(zipped(entries), cache=tmp_path)
    assert not (folder / "checks" / "__pycache__").exists()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"not a zip at all", "not a .zip file"),
        (zipped({"README.md": "hi", "main.py": "print(1)"}), "no assignment.toml at its top"),
        (zipped({"../escape/assignment.toml": "slug='x'", "a.py": ""}), "points outside"),
        (b"PK" + b"\x00" * (package_store.MAX_ARCHIVE_BYTES + 1), "the limit is"),
    ],
)
def test_what_is_not_a_package_is_refused_with_the_reason(tmp_path, data, says):
    with pytest.raises(PackageRejected, match=says):
        package_store.load_archive(data, cache=tmp_path)


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    bomb = zipped({"assignment.toml": "slug = 'x'", "checks/big.py": b"#" * (1024 * 1024)})
    with pytest.raises(PackageRejected, match="zip bomb"):
        package_store.load_archive(bomb, cache=tmp_path)


def test_a_broken_manifest_or_an_unknown_check_is_refused_without_naming_the_cache(tmp_path):
    broken = {**lab07_entries(), "assignment.toml": b"slug = "}
    with pytest.raises(PackageRejected, match="the package/assignment.toml") as raised:
        package_store.load_archive(zipped(broken), cache=tmp_path)
    assert str(tmp_path) not in str(raised.value)
    manifest = (LAB07 / "assignment.toml").read_text().replace('id = "cleanup_waited"', 'id = "no_such_check"')
    with pytest.raises(PackageRejected, match="unknown checks: no_such_check"):
        package_store.load_archive(zipped({**lab07_entries(), "assignment.toml": manifest}), cache=tmp_path)


def test_the_default_cache_is_refused_when_someone_else_could_write_to_it(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv(package_store.CACHE_ENV, str(shared))
    with pytest.raises(PermissionError, match="writable by it alone"):
        package_store.cache_dir()
    shared.chmod(0o700)
    assert package_store.cache_dir() == shared


def test_versions_no_grading_loaded_for_a_month_and_killed_workers_staging_leave_the_cache(tmp_path):
    data = package_store.zip_folder(LAB07)
    sha = package_store.sha256_of(data)
    package_store.load(sha, lambda: data, cache=tmp_path)
    month_ago = time.time() - package_store.UNUSED_FOR_S - 60
    old_version = tmp_path / ("0" * 64)
    old_version.mkdir()
    stale_staging = tmp_path / ".incoming-killed"
    stale_staging.mkdir()
    fresh_staging = tmp_path / ".incoming-now"  # a worker extracting at this moment
    fresh_staging.mkdir()
    for path in (tmp_path / sha, old_version, stale_staging):
        os.utime(path, (month_ago, month_ago))
    package_store.load(sha, lambda: data, cache=tmp_path)  # in use again: kept
    assert set(package_store.evict_unused(tmp_path)) == {old_version, stale_staging}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([sha, ".incoming-now"])
