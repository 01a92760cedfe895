"""The same upstreams, the lake once on local disk and once on S3: every output must be the same."""

import io
import uuid

import openpyxl
import pytest
from dagster import DagsterInstance

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.lake import read_parquet, uri
from pipeline.resources.storage import DataDir

PARTITION = today_key()


def run_on(lake: str, prefix: str, sandbox_env: dict[str, str]):
    env = {**sandbox_env, "PIPELINE_DATA_DIR": lake, "PIPELINE_S3_PREFIX": prefix}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        job = build_definitions(env).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(partition_key=PARTITION, instance=DagsterInstance.ephemeral())
    assert result.success
    return DataDir(path=lake), result


@pytest.fixture(scope="module")
def both(sandbox, sandbox_env, tmp_path_factory):
    local = run_on(str(tmp_path_factory.mktemp("local-lake")), "local-lake/", sandbox_env)
    s3 = run_on(f"s3://{sandbox.s3.bucket}/lake-{uuid.uuid4().hex[:8]}", "s3-lake/", sandbox_env)
    return {"local": local, "s3": s3}


def workbook_values(data_dir: DataDir) -> dict[str, list[list[object]]]:
    path = data_dir.report_path("econnect_stations", PARTITION, ".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    return {name: [list(row) for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}


def test_the_workbook_on_s3_has_exactly_the_local_values(both):
    local, s3 = workbook_values(both["local"][0]), workbook_values(both["s3"][0])
    assert s3 == local
    assert len(local["values"]) > 1000


def test_every_table_on_s3_equals_the_local_one(both):
    local_dir, s3_dir = both["local"][0], both["s3"][0]
    tables = sorted(path.name for path in (local_dir.root / "tables").iterdir())
    assert sorted(path.name for path in (s3_dir.root / "tables").iterdir()) == tables
    assert len(tables) >= 10
    for table in tables:
        local = read_parquet(local_dir.table_path(table, PARTITION))
        on_s3 = read_parquet(s3_dir.table_path(table, PARTITION))
        assert on_s3.equals(local), table


def test_the_csv_and_its_lake_copy_are_the_same_bytes(both, sandbox, s3_client):
    def uploaded(prefix):
        return s3_client.get_object(Bucket=sandbox.s3.bucket, Key=f"{prefix}charger_models_UK.csv")["Body"]

    assert uploaded("s3-lake/").read() == uploaded("local-lake/").read()
    copies = [d.report_path("charger_models_UK", PARTITION, ".csv").read_bytes() for d, _ in both.values()]
    assert copies[0] == copies[1]


def test_on_s3_the_workbook_is_in_the_lake_and_its_uri_in_the_metadata(both, sandbox):
    data_dir, result = both["s3"]
    [event] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["econnect_station_report"]
    ]
    report = data_dir.report_path("econnect_stations", PARTITION, ".xlsx")
    assert event.materialization.metadata["path"].value == uri(report)
    assert uri(report).startswith(f"s3://{sandbox.s3.bucket}/lake-")
    assert uri(report).endswith(f"/reports/{PARTITION}/econnect_stations_{PARTITION}.xlsx")
