import io
import stat
import zipfile

import pytest

import engine.files
from engine.errors import SubmissionError
from engine.files import SubmittedFile, choose_entry_point, from_folder, from_uploads, unpack_zip, write_tree


def make_zip(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_a_zip_of_a_folder_unpacks_to_the_folder_contents():
    files = unpack_zip(make_zip({"lab06/main.py": b"print(1)", "lab06/a.txt": b"a", "__MACOSX/._x": b""}))
    assert sorted(f.name for f in files) == ["a.txt", "main.py"]


@pytest.mark.parametrize("name", ["../evil.py", "/etc/cron.d/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_a_zip_slip_member_is_refused(name):
    with pytest.raises(SubmissionError, match="absolute path|outside the submission"):
        unpack_zip(make_zip({"main.py": b"", name: b"x"}))


def test_a_symlink_in_a_zip_is_refused():
    with pytest.raises(SubmissionError, match="symbolic link"):
        unpack_zip(make_zip({"main.py": b""}, symlink="passwd.txt"))


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    with pytest.raises(SubmissionError, match="zip bomb|limit is"):
        unpack_zip(make_zip({"main.py": b"", "bomb.txt": b"\0" * (50 * 1024 * 1024)}))


def test_a_damaged_zip_gets_a_clear_error():
    with pytest.raises(SubmissionError, match="damaged or not a zip"):
        from_uploads([("lab.zip", b"PK\x03\x04 this is not really a zip")])


def test_an_empty_upload_is_refused():
    with pytest.raises(SubmissionError, match="empty"):
        from_uploads([])


def test_a_zip_without_python_is_refused():
    with pytest.raises(SubmissionError, match="no Python"):
        unpack_zip(make_zip({"notes.txt": b"hi"}))


def test_uploaded_names_lose_their_directories():
    files = from_uploads([("C:\\Users\\me\\lab.py", b"x"), ("../a.txt", b"y")])
    assert sorted(f.name for f in files) == ["a.txt", "lab.py"]


def test_control_characters_in_names_are_refused():
    with pytest.raises(SubmissionError, match="control or invisible"):
        from_uploads([("lab\n.py", b"x")])


def test_the_entry_point_is_the_only_script_then_main_py_then_the_named_one():
    one = from_uploads([("lab.py", b""), ("a.txt", b"")])
    assert choose_entry_point(one) == "lab.py"
    two = from_uploads([("helpers.py", b""), ("main.py", b"")])
    assert choose_entry_point(two) == "main.py"
    assert choose_entry_point(two, "helpers.py") == "helpers.py"
    with pytest.raises(SubmissionError, match="name the one to run"):
        choose_entry_point(from_uploads([("a.py", b""), ("b.py", b"")]))


def raw_zip(name: bytes) -> bytes:
    """A zip whose member name is these exact bytes, without the UTF-8 flag."""
    placeholder = b"P" * len(name)
    data = make_zip({"main.py": b"", placeholder.decode(): b"x"})
    return data.replace(placeholder, name)


def test_a_zip_member_name_that_is_not_utf8_is_refused():
    with pytest.raises(SubmissionError, match="not valid UTF-8"):
        unpack_zip(raw_zip(b"\xff\xfe\xfd.txt"))


def test_a_utf8_name_written_without_the_zip_flag_is_read_as_utf8():
    files = unpack_zip(raw_zip("notes-été.txt".encode()))
    assert "notes-été.txt" in [f.name for f in files]


@pytest.mark.parametrize("name", ["evil\u202etxt.py", "zero\u200bwidth.py", "bell\x07.py"])
def test_names_with_invisible_or_control_characters_are_refused(name):
    with pytest.raises(SubmissionError, match="control or invisible"):
        from_uploads([(name, b"x")])


# Names the filesystem cannot hold must be refused as the student's error, before
# anything is staged (issue 7, item 6).

CLASHING_NAMES = [
    ("data.txt", "data.txt/notes.txt"),
    ("data.txt/notes.txt", "data.txt"),
    ("lab/data.txt", "lab/data.txt/deep/notes.txt"),
]


@pytest.mark.parametrize(("first", "second"), CLASHING_NAMES)
def test_a_zip_holding_a_file_and_a_folder_of_the_same_name_is_refused(first, second):
    with pytest.raises(SubmissionError, match="data.txt is both a file and a folder"):
        unpack_zip(make_zip({"main.py": b"", first: b"a", second: b"b"}))


@pytest.mark.parametrize(("first", "second"), CLASHING_NAMES)
def test_a_folder_holding_a_file_and_a_folder_of_the_same_name_is_refused(first, second):
    with pytest.raises(SubmissionError, match="data.txt is both a file and a folder"):
        from_folder([("main.py", b""), (first, b"a"), (second, b"b")])


def test_names_differing_in_case_or_only_starting_like_a_file_do_not_clash():
    names = ["main.py", "Data.txt/notes.txt", "data.txt", "data.txt2/notes.txt", "data.txt.d/notes.txt"]
    files = from_folder([(name, b"x") for name in names])
    assert sorted(f.name for f in files) == sorted(names)


@pytest.mark.parametrize("component", ["x" * 252 + ".txt", "\u00e9" * 128])
def test_a_name_component_over_255_utf8_bytes_is_refused(component):
    with pytest.raises(SubmissionError, match="longer than 255 bytes"):
        from_uploads([("main.py", b""), (component, b"x")])
    with pytest.raises(SubmissionError, match="longer than 255 bytes"):
        unpack_zip(make_zip({"main.py": b"", f"notes/{component}/a.txt": b"x"}))


def test_a_name_component_of_exactly_255_bytes_is_accepted_and_staged(tmp_path):
    name = "x" * 251 + ".txt"
    files = from_uploads([("main.py", b""), (name, b"x")])
    write_tree(files, tmp_path / "submission")
    assert (tmp_path / "submission" / name).read_bytes() == b"x"


def test_a_path_over_1024_bytes_is_refused():
    name = "/".join(["f" * 250] * 5) + "/a.txt"
    with pytest.raises(SubmissionError, match="path is longer than 1024 bytes"):
        from_folder([("main.py", b""), (name, b"x")])


def test_a_file_inside_more_than_16_folders_is_refused():
    name = "d/" * 17 + "a.txt"
    with pytest.raises(SubmissionError, match="more than 16 folders deep"):
        unpack_zip(make_zip({"main.py": b"", name: b"x"}))


def test_a_file_inside_16_folders_is_accepted():
    name = "d/" * 16 + "a.txt"
    assert name in [f.name for f in from_folder([("main.py", b""), (name, b"x")])]


def test_a_zip_with_too_many_entries_is_refused_even_when_most_are_folders():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", b"")
        for n in range(200):
            archive.writestr(zipfile.ZipInfo(f"folder{n}/"), b"")
    with pytest.raises(SubmissionError, match="201 entries"):
        unpack_zip(buffer.getvalue())


# write_tree is the second line of defence for callers that build SubmittedFiles
# themselves (run_submission from tests and the CLI): its failures must be the
# student's error, not an OSError the runner would call "not gradable".


@pytest.mark.parametrize(("first", "second"), CLASHING_NAMES)
def test_staging_a_file_and_a_folder_of_the_same_name_is_a_submission_error(tmp_path, first, second):
    files = [SubmittedFile("main.py", b""), SubmittedFile(first, b"a"), SubmittedFile(second, b"b")]
    with pytest.raises(SubmissionError, match="data.txt is both a file and a folder"):
        write_tree(files, tmp_path / "submission")
    assert not (tmp_path / "submission").exists()  # refused before anything is written


def test_staging_a_name_too_long_for_the_filesystem_is_a_submission_error(tmp_path):
    name = "x" * 300 + ".txt"
    with pytest.raises(SubmissionError, match="x{20}.* is longer than 255 bytes"):
        write_tree([SubmittedFile("main.py", b""), SubmittedFile(name, b"x")], tmp_path / "submission")
    assert not (tmp_path / "submission").exists()


@pytest.mark.parametrize(("first", "second"), CLASHING_NAMES)
def test_staging_turns_the_filesystem_refusing_a_clash_into_a_submission_error(tmp_path, monkeypatch, first, second):
    # Past the name checks, as on a filesystem that disagrees with them.
    monkeypatch.setattr(engine.files, "_file_and_folder_clash", lambda names: None)
    files = [SubmittedFile("main.py", b""), SubmittedFile(first, b"a"), SubmittedFile(second, b"b")]
    with pytest.raises(SubmissionError, match="data.txt.* cannot be staged: a file and a folder share a name"):
        write_tree(files, tmp_path / "submission")


def test_staging_turns_the_filesystem_refusing_a_long_name_into_a_submission_error(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.files, "MAX_NAME_BYTES", 10_000)
    name = "x" * 300 + ".txt"
    with pytest.raises(SubmissionError, match="name is too long"):
        write_tree([SubmittedFile("main.py", b""), SubmittedFile(name, b"x")], tmp_path / "submission")


def test_staging_into_a_run_directory_that_exists_stays_the_graders_error(tmp_path):
    (tmp_path / "submission").mkdir()
    with pytest.raises(FileExistsError):
        write_tree([SubmittedFile("main.py", b"")], tmp_path / "submission")


@pytest.mark.parametrize("name", ["../escaped.py", "ABSOLUTE", "lab//main.py", "./main.py"])
def test_staging_refuses_a_name_that_is_not_a_clean_relative_path(tmp_path, name):
    name = str(tmp_path / "escaped.py") if name == "ABSOLUTE" else name
    with pytest.raises(SubmissionError, match="outside the submission|absolute path|not a clean relative path"):
        write_tree([SubmittedFile(name, b"")], tmp_path / "submission")
    assert not (tmp_path / "escaped.py").exists()
    assert not (tmp_path / "submission").exists()
