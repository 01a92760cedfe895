"""Local files that appear complete or not at all: `atomic_path` and `write_bytes_atomic`."""

import pytest

from pipeline.resources.files import atomic_path, write_bytes_atomic


class Boom(Exception):
    pass


def listing(folder):
    return sorted(path.name for path in folder.iterdir())


def test_atomic_path_replaces_the_target_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "report.csv"
    target.write_bytes(b"old,content\n")

    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp.name.startswith(".report.csv.")
        assert tmp.name.endswith(".tmp")
        tmp.write_bytes(b"new,content\n1,2\n")
        assert target.read_bytes() == b"old,content\n"  # not replaced before the block ends

    assert target.read_bytes() == b"new,content\n1,2\n"
    assert listing(tmp_path) == ["report.csv"]


def test_an_exception_in_the_block_leaves_the_old_target_unchanged_and_no_temporary_file(tmp_path):
    target = tmp_path / "table.parquet"
    old = bytes(range(256)) * 4
    target.write_bytes(old)

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise Boom

    assert target.read_bytes() == old
    assert listing(tmp_path) == ["table.parquet"]


def test_an_exception_without_a_previous_target_leaves_the_directory_empty(tmp_path):
    target = tmp_path / "new.json"

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_bytes(b"{")
        raise Boom

    assert not target.exists()
    assert listing(tmp_path) == []


def test_atomic_path_creates_missing_parent_directories(tmp_path):
    target = tmp_path / "reports" / "2024-01-02" / "summary.txt"

    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        tmp.write_text("done\n", encoding="utf-8")

    assert target.read_bytes() == b"done\n"
    assert listing(target.parent) == ["summary.txt"]


def test_write_bytes_atomic_writes_then_replaces_the_whole_file(tmp_path):
    target = tmp_path / "deep" / "er" / "data.bin"

    write_bytes_atomic(target, b"first version, quite long")
    assert target.read_bytes() == b"first version, quite long"

    write_bytes_atomic(target, b"2nd")
    assert target.read_bytes() == b"2nd"  # replaced, not overwritten in place (no trailing old bytes)
    assert listing(target.parent) == ["data.bin"]


def test_write_bytes_atomic_of_empty_data_creates_an_empty_file(tmp_path):
    target = tmp_path / "empty.txt"
    target.write_bytes(b"something")

    write_bytes_atomic(target, b"")

    assert target.read_bytes() == b""
    assert listing(tmp_path) == ["empty.txt"]


def test_the_replaced_file_gets_the_mode_a_plain_write_would_give(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    write_bytes_atomic(tmp_path / "atomic.bin", b"x")
    assert (tmp_path / "atomic.bin").stat().st_mode == plain.stat().st_mode
