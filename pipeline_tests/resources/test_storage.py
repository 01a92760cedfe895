"""`DataDir` path helpers, and `S3Bucket` against a real local S3 endpoint (moto's threaded server)."""

import base64
import hashlib

import boto3
import pytest

from pipeline.resources.raw_zone import RawZone
from pipeline.resources.storage import DataDir, S3Bucket
from pipeline.sandbox.s3 import LocalS3

BUCKET = "storage-tests"  # moto keeps buckets per process: a name no other test uses


@pytest.fixture
def s3(monkeypatch):
    """A local S3 with an empty BUCKET, and the environment boto3's default chain needs to reach it."""
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with LocalS3(bucket=BUCKET) as local:
        for name, value in local.env().items():
            monkeypatch.setenv(name, value)
        yield local


def keys(local):
    return [item["Key"] for item in local.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_data_dir_root_expands_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert DataDir(path="~/pipeline-data").root == tmp_path.resolve() / "pipeline-data"


def test_data_dir_root_resolves_a_relative_path_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = DataDir(path="./sub/../data").root
    assert root == tmp_path.resolve() / "data"
    assert root.is_absolute()
    assert DataDir().root == tmp_path.resolve() / "data"  # the default "./data"


def test_data_dir_table_and_report_paths(tmp_path):
    data = DataDir(path=str(tmp_path))
    root = tmp_path.resolve()
    assert data.table_path("station_counts", "2024-01-02") == (
        root / "tables" / "station_counts" / "2024-01-02.parquet"
    )
    assert data.report_path("summary", "2024-01-02", ".csv") == (
        root / "reports" / "2024-01-02" / "summary_2024-01-02.csv"
    )


def test_data_dir_raw_is_the_raw_zone_of_one_source(tmp_path):
    zone = DataDir(path=str(tmp_path)).raw("econnect")
    assert isinstance(zone, RawZone)
    assert (zone.root, zone.source) == (tmp_path.resolve() / "raw" / "econnect", "econnect")

    with zone.writing("2024-01-02") as writer:
        writer.write_bytes("sites.json", b"[]")

    assert (tmp_path / "raw" / "econnect" / "2024-01-02" / "_snapshot.json").is_file()
    assert DataDir(path=str(tmp_path)).raw("econnect").snapshot("2024-01-02").names == ["sites.json"]


def test_put_file_uploads_the_bytes_under_the_prefix_and_returns_the_uri(s3, tmp_path):
    body = b"id,name\n1,one\n" * 1000
    path = tmp_path / "export.csv"
    path.write_bytes(body)

    uri = S3Bucket(bucket=BUCKET, prefix="exports/").put_file(
        "2024-01-02/export.csv", path, content_type="text/csv"
    )

    assert uri == f"s3://{BUCKET}/exports/2024-01-02/export.csv"
    assert keys(s3) == ["exports/2024-01-02/export.csv"]
    stored = s3.client().get_object(Bucket=BUCKET, Key="exports/2024-01-02/export.csv")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "text/csv"


def test_put_file_sends_the_sha256_of_the_file_for_s3_to_verify(s3, tmp_path, monkeypatch):
    # moto neither stores nor checks x-amz-checksum-sha256, so look at the request itself
    session = boto3.Session()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    sent = []
    session.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request.headers))
    body = bytes(range(256)) * 5000  # > 1 MiB: the digest is computed over several chunks
    path = tmp_path / "big.bin"
    path.write_bytes(body)

    uri = S3Bucket(bucket=BUCKET).put_file("big.bin", path, content_type="application/octet-stream")

    assert len(sent) == 1
    expected = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert sent[0]["x-amz-checksum-sha256"] == expected.encode()
    assert (uri, keys(s3)) == (f"s3://{BUCKET}/big.bin", ["big.bin"])  # no prefix: the key as given
    stored = s3.client().get_object(Bucket=BUCKET, Key="big.bin")
    assert (stored["Body"].read(), stored["ContentType"]) == (body, "application/octet-stream")


def test_text_lines_round_trips_non_ascii_text_line_by_line(s3, tmp_path):
    text = "station,city\nnaïve,Zürich\nœuvre,東京 €\nlast line without a newline: ß"
    path = tmp_path / "cities.csv"
    path.write_bytes(text.encode("utf-8"))
    bucket = S3Bucket(bucket=BUCKET, prefix="checks/")
    bucket.put_file("cities.csv", path, content_type="text/csv; charset=utf-8")

    lines = list(bucket.text_lines("cities.csv"))

    assert lines == [
        "station,city\n",
        "naïve,Zürich\n",
        "œuvre,東京 €\n",
        "last line without a newline: ß",
    ]
    assert "".join(lines) == text


def test_text_lines_of_a_body_larger_than_one_chunk_keeps_multibyte_characters_whole(s3, tmp_path):
    text = "".join(f"{i:05d},é東€\n" for i in range(20_000))  # ~380 kB: chunk edges cut characters
    path = tmp_path / "big.csv"
    path.write_bytes(text.encode("utf-8"))
    bucket = S3Bucket(bucket=BUCKET)
    bucket.put_file("big.csv", path, content_type="text/csv")

    lines = list(bucket.text_lines("big.csv"))

    assert len(lines) == 20_000
    assert lines == text.splitlines(keepends=True)


def test_put_file_to_a_missing_bucket_raises_naming_the_uri_and_the_setting(s3, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"12345")

    with pytest.raises(RuntimeError) as raised:
        S3Bucket(bucket="storage-tests-missing", prefix="exports/").put_file(
            "export.csv", path, content_type="text/csv"
        )

    message = str(raised.value)
    assert "s3://storage-tests-missing/exports/export.csv" in message
    assert "PIPELINE_S3_BUCKET" in message
    assert "Uploading 5 bytes" in message
    assert keys(s3) == []


def test_text_lines_of_a_missing_object_raises_naming_the_uri(s3):
    with pytest.raises(RuntimeError, match=rf"Reading s3://{BUCKET}/checks/absent\.csv back failed"):
        list(S3Bucket(bucket=BUCKET, prefix="checks/").text_lines("absent.csv"))
