import io
import stat
import zipfile

import pytest

from engine.errors import SubmissionError
from engine.files import choose_entry_point, from_uploads, unpack_zip


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
