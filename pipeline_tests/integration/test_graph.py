"""The whole asset graph over real HTTP against the sandbox and a moto S3 server, twice: with the lake
(PIPELINE_DATA_DIR) on local disk and on the sandbox's S3."""

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl
import pytest
from dagster import DagsterInstance

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.storage import DataDir
from pipeline_tests.integration import expected

PARTITION = today_key()
SHEETS = [
    "values",
    "modelInfo_count",
    "installDate_count",
    "type_count",
    "state_count",
    "Status Pivot",
    "State History",
    "Week over Week",
]


def materialise_everything(env):
    defs = build_definitions(env)
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(partition_key=PARTITION, instance=DagsterInstance.ephemeral())


def metadata(run, asset):
    [event] = [e for e in run.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return event.step_materialization_data.materialization.metadata


@pytest.fixture(scope="module", params=["local", "s3"])
def lake_env(request, sandbox, sandbox_env):
    """The sandbox environment with the lake on local disk (as given) or under a fresh S3 prefix."""
    if request.param == "local":
        yield sandbox_env
        return
    env = {**sandbox_env, "PIPELINE_DATA_DIR": f"s3://{sandbox.s3.bucket}/lake-{uuid.uuid4().hex[:8]}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_DATA_DIR", env["PIPELINE_DATA_DIR"])
        yield env


@pytest.fixture(scope="module")
def run(lake_env):
    result = materialise_everything(lake_env)
    assert result.success
    return result


def lake(env) -> DataDir:
    return DataDir(path=env["PIPELINE_DATA_DIR"])


def workbook(env, **options):
    path = lake(env).report_path("econnect_stations", PARTITION, ".xlsx")
    return openpyxl.load_workbook(io.BytesIO(path.read_bytes()), **options)


def test_raw_pages_are_stored_exactly_as_served(run, sandbox, lake_env):
    data_dir = lake(lake_env)
    pages = data_dir.raw("econnect").snapshot(PARTITION)
    assert pages.names[:2] == ["page-000000.json", "page-000001.json"]
    assert len(pages.names) == len(sandbox.stations) // 100 + 2  # 12 full pages, one partial, one empty
    registry = data_dir.raw("uk_registry").snapshot(PARTITION)
    assert registry.names == ["registry.json"]
    assert registry.read_bytes("registry.json") == sandbox.ncr.body


def test_workbook_counts_every_station_once(run, sandbox, lake_env):
    book = workbook(lake_env, read_only=True)
    assert book.sheetnames == SHEETS
    total = len(expected.latest_stations(sandbox.stations))
    assert sum(1 for _ in book["values"].iter_rows(min_row=2)) == total
    for field in ("modelInfo", "type", "state"):
        rows = list(book[f"{field}_count"].iter_rows(min_row=2, values_only=True))
        assert {value or "": count for value, count in rows} == expected.station_value_counts(
            sandbox.stations, field
        )
    install_rows = list(book["installDate_count"].iter_rows(min_row=2, values_only=True))
    assert sum(count for _, count in install_rows) == total
    pivot = list(book["Status Pivot"].iter_rows(min_row=2, values_only=True))
    assert sum(sum(row[1:]) for row in pivot) == total
    models = {row[0] or "" for row in pivot}
    assert models == set(expected.station_value_counts(sandbox.stations, "modelInfo"))


def test_formula_like_model_names_are_text_cells(run, sandbox, lake_env):
    sheet = workbook(lake_env)["values"]
    models = [row[1] for row in sheet.iter_rows(min_row=2)]
    formula_like = [c for c in models if isinstance(c.value, str) and c.value[:1] in "=+@-"]
    assert formula_like, "the sandbox data should contain formula-like model names"
    assert {c.data_type for c in formula_like} == {"s"}


def test_csv_on_s3_is_exactly_the_expected_text(run, sandbox, s3_client):
    want = expected.uk_csv_text(sandbox.registry)
    latest = s3_client.get_object(Bucket=sandbox.s3.bucket, Key="exports/charger_models_UK.csv")
    dated = s3_client.get_object(Bucket=sandbox.s3.bucket, Key=f"exports/{PARTITION}/charger_models_UK.csv")
    assert latest["Body"].read().decode("utf-8") == want
    assert dated["Body"].read().decode("utf-8") == want
    assert latest["ContentType"] == "text/csv"


def test_metadata_shows_what_happened(run, sandbox):
    pages = metadata(run, "econnect_station_pages")
    assert pages["pages"].value == len(sandbox.stations) // 100 + 2
    assert pages["records"].value == len(sandbox.stations)
    stations = metadata(run, "econnect_stations")
    assert stations["dagster/row_count"].value == len(expected.latest_stations(sandbox.stations))
    devices = metadata(run, "uk_registry_devices")
    assert devices["skipped_without_model"].value == expected.uk_devices_without_model(sandbox.registry) > 0
    csv = metadata(run, "uk_registry_models_csv")
    assert csv["uri"].value == f"s3://{sandbox.s3.bucket}/exports/charger_models_UK.csv"


def test_every_quality_check_ran_and_passed_but_the_feed_that_is_down(run, sandbox):
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e.passed for e in run.get_asset_check_evaluations()
    }
    feeds = {f"uk_ocpi_{operator}_locations": operator != "sandbox_down" for operator in sandbox.ocpi.servers}
    assert len(feeds) == 10
    assert evaluations == {
        **{(asset, "fetched"): up for asset, up in feeds.items()},
        # The down feed was not materialised, so its freshness check is skipped in this run (the hourly
        # job runs it on its own); every other asset's check still runs.
        **{(asset, "snapshot_fresh"): True for asset, up in feeds.items() if up},
        ("uk_ocpi_feeds", "snapshot_fresh"): True,
        ("uk_ocpi_feeds", "every_feed_included"): False,
        ("uk_ocpi_charge_points_csv", "uploaded_total_equals_evses"): True,
        ("uk_ocpi_charge_prices_csv", "uploaded_connectors_equal_priced_table"): True,
        ("econnect_station_pages", "snapshot_fresh"): True,
        ("uk_registry_snapshot", "snapshot_fresh"): True,
        ("econnect_stations", "ids_unique"): True,
        ("econnect_station_rejects", "reject_share"): True,
        ("econnect_station_counts", "sums_to_stations"): True,
        ("econnect_state_by_model", "sums_to_stations"): True,
        ("uk_registry_devices", "ids_unique"): True,
        ("uk_registry_device_rejects", "reject_share"): True,
        ("uk_registry_model_counts", "sums_to_devices"): True,
        ("uk_registry_models_csv", "uploaded_total_equals_devices"): True,
    }


def test_the_documented_cli_command_materialises_everything(lake_env, sandbox, s3_client, tmp_path):
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*"]
    env = {**os.environ, **lake_env, "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        [*command, "--partition", PARTITION], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert workbook(lake_env, read_only=True).sheetnames == SHEETS
    body = s3_client.get_object(Bucket=sandbox.s3.bucket, Key="exports/charger_models_UK.csv")["Body"].read()
    assert body.decode("utf-8") == expected.uk_csv_text(sandbox.registry)
    # The partition was materialised before in this data dir: outputs are replaced, never appended to.
    raw = lake(lake_env).root / "raw" / "econnect"
    assert [p.name for p in raw.iterdir()] == [PARTITION]
    snapshot = lake(lake_env).raw("econnect").snapshot(PARTITION)
    assert len(snapshot.names) == len(sandbox.stations) // 100 + 2
    # one manifest and the new attempt's folder: the earlier attempt's pages are gone
    assert sorted(p.name for p in (raw / PARTITION).iterdir()) == sorted(
        ["_snapshot.json", snapshot.manifest["attempt"]]
    )
    keys = s3_client.list_objects_v2(Bucket=sandbox.s3.bucket, Prefix="exports/")["Contents"]
    assert sorted(k["Key"] for k in keys) == [
        f"exports/{PARTITION}/charge_points_UK.csv",
        f"exports/{PARTITION}/charge_prices_UK.csv",
        f"exports/{PARTITION}/charger_models_UK.csv",
        "exports/charge_points_UK.csv",
        "exports/charge_prices_UK.csv",
        "exports/charger_models_UK.csv",
    ]
