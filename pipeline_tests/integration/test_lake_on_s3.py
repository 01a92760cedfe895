"""The same upstreams, the lake once on local disk and once on S3: every output must be the same."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipeline.orchestration.partitions import today_key
from pipeline.resources.lake import read_parquet, uri
from pipeline.resources.raw_zone import SnapshotMissing
from pipeline.resources.storage import DataDir
from pipeline.sandbox import BUSINESS_PARTNER, PASSWORD, USERNAME, EConnectServer, make_stations
from pipeline.sources.econnect.raw import read_pages
from pipeline_tests.integration.backfill_support import materialise, workbook_values

PARTITION = today_key()


def run_on(lake: str, prefix: str, sandbox_env: dict[str, str]):
    env = {**sandbox_env, "PIPELINE_DATA_DIR": lake, "PIPELINE_S3_PREFIX": prefix}
    result = materialise(env, PARTITION, raise_on_error=True)
    assert result.success
    return DataDir(path=lake), result


@pytest.fixture(scope="module")
def both(sandbox, sandbox_env, tmp_path_factory):
    local = run_on(str(tmp_path_factory.mktemp("local-lake")), "local-lake/", sandbox_env)
    s3 = run_on(f"s3://{sandbox.s3.bucket}/lake-{uuid.uuid4().hex[:8]}", "s3-lake/", sandbox_env)
    return {"local": local, "s3": s3}


def test_the_workbook_on_s3_has_exactly_the_local_values(both):
    local = workbook_values(both["local"][0].path, PARTITION)
    s3 = workbook_values(both["s3"][0].path, PARTITION)
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


def test_a_snapshot_run_killed_mid_way_is_invisible_on_s3(sandbox, sandbox_env, tmp_path):
    """SIGKILL the production CLI while it writes eConnect pages to S3: nothing a reader takes for whole."""
    lake = f"s3://{sandbox.s3.bucket}/killed-{uuid.uuid4().hex[:8]}"
    raw = DataDir(path=lake).raw("econnect")
    with EConnectServer(make_stations(3000), latency_s=0.2) as slow:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "ECONNECT_"))},
            **sandbox.s3.env(),
            "ECONNECT_API_URL": slow.base_url,
            "ECONNECT_USERNAME": USERNAME,
            "ECONNECT_PASSWORD": PASSWORD,
            "ECONNECT_BUSINESS_PARTNER": BUSINESS_PARTNER,
            "ECONNECT_MAX_CONCURRENCY": "1",
            "PIPELINE_DATA_DIR": lake,
            "DAGSTER_HOME": str(tmp_path),
        }
        command = [str(Path(sys.executable).with_name("dagster")), "asset", "materialize"]
        command += [
            "-m",
            "pipeline.definitions",
            "--select",
            "econnect_station_pages",
            "--partition",
            PARTITION,
        ]
        with subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        ) as run:
            deadline = time.monotonic() + 60
            while len(slow.requests) < 5 and time.monotonic() < deadline and run.poll() is None:
                time.sleep(0.1)
            os.killpg(run.pid, signal.SIGKILL)
        pages_served = len(slow.requests)
    written = [p for p in (raw.root / PARTITION).rglob("*") if p.is_file()]
    assert 0 < pages_served < 31 and written  # it was killed while pages were being written
    assert not any(p.name == "_snapshot.json" for p in written)
    assert raw.days(up_to=PARTITION) == []
    with pytest.raises(SnapshotMissing, match=f"No complete raw econnect snapshot is stored for {PARTITION}"):
        list(read_pages(raw.snapshot(PARTITION)))
