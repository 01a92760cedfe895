"""The lake on local disk or S3 (moto's server): what the code cannot honour fails, the rest is whole."""

from pathlib import Path

import pytest
from dagster import MetadataValue

from pipeline.resources.lake import (
    LakeSettingError,
    lake_root,
    location,
    put_bytes,
    remove_tree,
    uri,
    writing,
)
from pipeline.resources.raw_zone import RawZone, SnapshotWriter
from pipeline.resources.storage import DataDir
from pipeline.sandbox.s3 import LocalS3

DAY = "2026-11-30"


@pytest.fixture(scope="module")
def s3():
    with LocalS3("lake-tests") as local, pytest.MonkeyPatch.context() as patch:
        for name, value in local.env().items():
            patch.setenv(name, value)
        yield local


@pytest.fixture
def root(s3, request):
    return lake_root(f"s3://{s3.bucket}/{request.node.name[:40]}")


def keys(s3, prefix=""):
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def test_a_local_setting_is_an_absolute_local_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert uri(lake_root("data")) == str(tmp_path / "data")
    assert uri(lake_root("")) == str(tmp_path / "data")  # empty: the documented default, ./data
    assert uri(lake_root(f"file://{tmp_path}/x")) == str(tmp_path / "x")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("s3:/bucket/lake", "PIPELINE_DATA_DIR='s3:/bucket/lake' is not a URL; write s3://BUCKET/PREFIX."),
        ("s3:///lake", "PIPELINE_DATA_DIR='s3:///lake' names no bucket; write s3://BUCKET/PREFIX."),
        ("gs://bucket/lake", "PIPELINE_DATA_DIR='gs://bucket/lake': the lake can be a local directory or "),
    ],
)
def test_a_setting_the_code_cannot_honour_fails_naming_it(setting, message):
    with pytest.raises(LakeSettingError) as error:
        _ = DataDir(path=setting).root
    assert str(error.value).startswith(message)


def test_an_s3_setting_is_the_bucket_not_a_local_folder_named_s3(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data_dir = DataDir(path=f"s3://{s3.bucket}/lake/")
    put_bytes(data_dir.table_path("t", DAY), b"parquet bytes")
    assert keys(s3, "lake/") == [f"lake/tables/t/{DAY}.parquet"]
    assert list(tmp_path.iterdir()) == []  # nothing written to ./s3:
    assert location(data_dir.root / "x") == MetadataValue.url(f"s3://{s3.bucket}/lake/x")


def test_writing_uploads_whole_on_success_and_nothing_on_error(s3, root):
    target = root / "reports" / "r.csv"
    with pytest.raises(RuntimeError), writing(target) as local:
        local.write_text("half a report")
        raise RuntimeError("the writer broke")
    assert not target.exists()
    with writing(target) as local:
        local.write_text("a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    assert not Path(local).exists()  # the local staging file is gone either way


def test_remove_tree_deletes_every_object_under_a_folder(s3, root):
    for name in ("a/1", "a/b/2", "c/3"):
        put_bytes(root / name, b"x")
    remove_tree(root / "a")
    remove_tree(root / "never-there")
    assert keys(s3, root.path.split("/", 1)[1]) == [f"{root.path.split('/', 1)[1]}/c/3"]


def test_a_snapshot_on_s3_is_written_concurrently_and_read_through_its_manifest(s3, root):
    zone = RawZone(root / "raw" / "econnect", "econnect")
    pages = {f"page-{n:06d}.json": f'{{"content": [{n}]}}'.encode() for n in range(40)}
    with zone.writing(DAY, concurrency=8) as writer:
        for name, body in pages.items():
            writer.write_bytes(name, body)
    snapshot = zone.snapshot(DAY)
    assert snapshot.complete and zone.days(up_to=DAY) == [DAY]
    assert snapshot.names == sorted(pages)
    assert {name: snapshot.read_bytes(name) for name in snapshot.names} == pages
    assert snapshot.size == sum(len(body) for body in pages.values())


def test_a_snapshot_killed_mid_way_is_invisible_and_the_previous_one_stays(s3, root):
    zone = RawZone(root / "raw" / "econnect", "econnect")
    with zone.writing(DAY) as writer:
        writer.write_bytes("page-000000.json", b"complete")
    killed = SnapshotWriter(root / "raw" / "econnect" / DAY, concurrency=4)  # never committed
    killed.write_bytes("page-000000.json", b"half")
    killed.write_bytes("page-000001.json", b"half")
    killed.files()
    other_day = SnapshotWriter(root / "raw" / "econnect" / "2026-12-01")
    other_day.write_bytes("page-000000.json", b"half")
    assert zone.days(up_to="2026-12-31") == [DAY]
    assert not zone.snapshot("2026-12-01").complete
    assert zone.snapshot(DAY).names == ["page-000000.json"]
    assert zone.snapshot(DAY).read_bytes("page-000000.json") == b"complete"


def test_rematerialising_a_day_with_fewer_pages_leaves_no_stale_page(s3, root):
    zone = RawZone(root / "raw" / "econnect", "econnect")
    with zone.writing(DAY, concurrency=4) as writer:
        for n in range(3):
            writer.write_bytes(f"page-{n:06d}.json", b"first")
    first = zone.snapshot(DAY).manifest["attempt"]
    with zone.writing(DAY, concurrency=4) as writer:
        writer.write_bytes("page-000000.json", b"second")
    snapshot = zone.snapshot(DAY)
    assert snapshot.names == ["page-000000.json"]
    prefix = (root / "raw" / "econnect" / DAY).path.split("/", 1)[1]
    assert keys(s3, prefix) == sorted(
        [f"{prefix}/_snapshot.json", f"{prefix}/{snapshot.manifest['attempt']}/page-000000.json"]
    )
    assert first != snapshot.manifest["attempt"]


def test_a_failed_write_on_s3_removes_its_objects(s3, root):
    zone = RawZone(root / "raw" / "uk_registry", "uk_registry")
    with pytest.raises(OSError), zone.writing(DAY, concurrency=4) as writer:
        writer.write_bytes("a.json", b"x")
        raise OSError("connection lost")
    assert not (root / "raw" / "uk_registry" / DAY).exists() or not list(
        (root / "raw" / "uk_registry" / DAY).iterdir()
    )
    assert zone.days(up_to=DAY) == []


def test_many_files_are_read_back_from_s3_in_order_a_window_at_a_time(s3, root):
    zone = RawZone(root / "raw" / "econnect", "econnect")
    pages = {f"page-{n:06d}.json": f"body {n}".encode() * (n + 1) for n in range(40)}
    with zone.writing(DAY, concurrency=8) as writer:
        for name, body in pages.items():
            writer.write_bytes(name, body)
    names = list(reversed(sorted(pages)))  # any order asked for is the order given back
    assert list(zone.snapshot(DAY).read_many(names, ahead=5)) == [(name, pages[name]) for name in names]
