"""The raw zone's contract: a day's snapshot is stored complete or not at all (real files, tmp_path)."""

import json

import pytest

from pipeline.resources.raw_zone import MANIFEST, RawZone, SnapshotMissing, SnapshotWriter

DAY = "2024-03-05"


class Boom(Exception):
    pass


def tree(folder):
    """Every file under `folder` with its bytes, keyed by its relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def store(zone, day, files):
    with zone.writing(day) as writer:
        for name, data in files.items():
            writer.write_bytes(name, data)
    return writer.attempt


def test_a_successful_write_stores_every_file_with_a_manifest(tmp_path):
    zone = RawZone(tmp_path / "raw" / "registry", "registry")
    chunks = [bytes([i]) * 1000 for i in range(5)]

    with zone.writing(DAY) as writer:
        assert isinstance(writer, SnapshotWriter)
        writer.write_bytes("page-2.json", b'{"page": 2}')
        writer.write_bytes("page-1.json", b'{"page": 1, "x": "\xc3\xa9"}')
        with writer.path("bulk.csv").open("wb") as stream:
            for chunk in chunks:
                stream.write(chunk)
        assert not zone.snapshot(DAY).complete  # nothing is visible before the block ends

    snapshot = zone.snapshot(DAY)
    assert snapshot.complete
    assert snapshot.names == ["bulk.csv", "page-1.json", "page-2.json"]
    assert snapshot.read_bytes("page-2.json") == b'{"page": 2}'
    assert snapshot.read_bytes("page-1.json") == b'{"page": 1, "x": "\xc3\xa9"}'
    with snapshot.open("bulk.csv") as stream:
        assert stream.read() == b"".join(chunks)
    assert snapshot.size == 5000 + 11 + 22
    manifest = json.loads((tmp_path / "raw" / "registry" / DAY / MANIFEST).read_bytes())
    assert manifest["files"] == {"bulk.csv": 5000, "page-1.json": 22, "page-2.json": 11}
    assert (manifest["source"], manifest["day"], manifest["attempt"]) == ("registry", DAY, writer.attempt)
    assert snapshot.path("bulk.csv") == tmp_path / "raw" / "registry" / DAY / writer.attempt / "bulk.csv"
    assert zone.days(up_to=DAY) == [DAY]


def test_a_failed_write_without_a_previous_snapshot_leaves_nothing_readable(tmp_path):
    zone = RawZone(tmp_path, "econnect")

    with pytest.raises(Boom), zone.writing(DAY) as writer:
        writer.write_bytes("a.json", b"[1, 2]")
        raise Boom

    assert not writer.folder.exists()
    assert tree(tmp_path) == {}
    assert not zone.snapshot(DAY).complete
    assert zone.days(up_to="9999-12-31") == []


def test_a_failed_write_leaves_the_previous_complete_snapshot_byte_for_byte_untouched(tmp_path):
    zone = RawZone(tmp_path, "econnect")
    store(zone, DAY, {"a.json": b"old a", "b.json": b"old b"})
    before = tree(tmp_path / DAY)

    with pytest.raises(Boom), zone.writing(DAY) as writer:
        writer.write_bytes("a.json", b"new a")
        writer.write_bytes("c.json", b"new c")
        raise Boom

    assert not writer.folder.exists()
    assert tree(tmp_path / DAY) == before
    snapshot = zone.snapshot(DAY)
    assert snapshot.names == ["a.json", "b.json"]
    assert (snapshot.read_bytes("a.json"), snapshot.read_bytes("b.json")) == (b"old a", b"old b")
    assert snapshot.manifest["files"] == {"a.json": 5, "b.json": 5}


def test_a_day_with_files_but_no_manifest_is_not_a_snapshot(tmp_path):
    zone = RawZone(tmp_path, "econnect")
    store(zone, "2024-03-04", {"x.json": b"x"})
    killed = SnapshotWriter(tmp_path / DAY)  # what a run killed before its manifest leaves behind
    killed.write_bytes("a.json", b"partial")

    snapshot = zone.snapshot(DAY)
    assert not snapshot.complete
    assert zone.days(up_to=DAY) == ["2024-03-04"]
    for read in (lambda: snapshot.names, lambda: snapshot.read_bytes("a.json"), lambda: snapshot.size):
        with pytest.raises(SnapshotMissing, match=rf"raw econnect snapshot is stored for {DAY}"):
            read()
    assert issubclass(SnapshotMissing, FileNotFoundError)


def test_rewriting_a_day_with_fewer_files_replaces_it_and_deletes_old_attempts(tmp_path):
    zone = RawZone(tmp_path, "registry")
    first = store(zone, DAY, {"a.json": b"a1", "b.json": b"b1"})
    killed = SnapshotWriter(tmp_path / DAY)
    killed.write_bytes("a.json", b"never committed")

    second = store(zone, DAY, {"a.json": b"a2, longer"})

    snapshot = zone.snapshot(DAY)
    assert snapshot.names == ["a.json"]
    assert snapshot.read_bytes("a.json") == b"a2, longer"
    assert snapshot.size == 10
    with pytest.raises(SnapshotMissing, match=r"holds no file 'b\.json'"):
        snapshot.path("b.json")
    assert not (tmp_path / DAY / first).exists()
    assert not killed.folder.exists()
    assert sorted(p.name for p in (tmp_path / DAY).iterdir()) == sorted([MANIFEST, second])


def test_days_lists_complete_snapshots_in_order_up_to_the_given_day(tmp_path):
    zone = RawZone(tmp_path / "raw" / "econnect", "econnect")
    assert zone.days(up_to="2024-12-31") == []  # the source's folder does not exist yet
    for day in ["2024-01-03", "2023-12-31", "2024-01-05", "2024-01-01"]:
        store(zone, day, {"d.json": day.encode()})
    SnapshotWriter(zone.root / "2024-01-02").write_bytes("d.json", b"incomplete")

    assert zone.days(up_to="2024-01-04") == ["2023-12-31", "2024-01-01", "2024-01-03"]
    assert zone.days(up_to="2024-01-05") == ["2023-12-31", "2024-01-01", "2024-01-03", "2024-01-05"]
    assert zone.days(up_to="2023-12-30") == []


def test_latest_before_skips_incomplete_days_and_the_day_itself(tmp_path):
    zone = RawZone(tmp_path / "raw" / "uk_ocpi", "uk_ocpi")
    assert zone.latest_before("2024-12-31") is None  # the source's folder does not exist yet
    for day in ["2024-01-01", "2024-01-03"]:
        store(zone, day, {"d.json": day.encode()})
    SnapshotWriter(zone.root / "2024-01-04").write_bytes("d.json", b"incomplete")
    assert zone.latest_before("2024-01-05") == "2024-01-03"  # 2024-01-04 has no manifest
    assert zone.latest_before("2024-01-03") == "2024-01-01"  # strictly before
    assert zone.latest_before("2024-01-01") is None


@pytest.mark.parametrize("name", ["", "a/b", ".hidden", MANIFEST])
def test_invalid_file_names_are_rejected_and_nothing_is_committed(tmp_path, name):
    zone = RawZone(tmp_path, "registry")

    with pytest.raises(ValueError, match="is not a valid raw file name"), zone.writing(DAY) as writer:
        writer.write_bytes("ok.json", b"fine")
        writer.path(name)

    with pytest.raises(ValueError, match="is not a valid raw file name"), zone.writing(DAY) as writer:
        writer.write_bytes(name, b"data")

    assert not zone.snapshot(DAY).complete
    assert tree(tmp_path) == {}
