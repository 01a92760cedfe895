"""Deployments that use only some sources: the documented CLI command runs green with what is there."""

import os
import subprocess
import sys
from pathlib import Path

import openpyxl

from pipeline.orchestration.partitions import today_key
from pipeline_tests.integration import expected

PARTITION = today_key()
OURS = ("PIPELINE_", "ECONNECT_", "NCR_", "AWS_")


def materialise_everything_with(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """`dagster asset materialize --select '*'` in a process that sees only `env` of our settings."""
    home = tmp_path / "home"
    home.mkdir()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(OURS)}
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "asset", "materialize", "-m", "pipeline.definitions", "--select", "*"]
    return subprocess.run(
        [*command, "--partition", PARTITION],
        env={**inherited, **env, "DAGSTER_HOME": str(home), "PIPELINE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=False,
    )


def test_only_econnect_configured_runs_green_and_leaves_the_registry_alone(sandbox, tmp_path):
    env = {k: v for k, v in sandbox.env().items() if k.startswith("ECONNECT_")}
    done = materialise_everything_with(env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "uk_registry: off, not configured (NCR_API_URL unset or empty)" in done.stderr
    report = tmp_path / "data" / "reports" / PARTITION / f"econnect_stations_{PARTITION}.xlsx"
    values = openpyxl.load_workbook(report, read_only=True)["values"]
    assert sum(1 for _ in values.iter_rows(min_row=2)) == len(expected.latest_stations(sandbox.stations))
    assert sorted(p.name for p in (tmp_path / "data" / "raw").iterdir()) == ["econnect"]


def test_only_the_uk_side_configured_runs_green_and_uploads_the_csv(sandbox, tmp_path, s3_client):
    env = {k: v for k, v in sandbox.env().items() if not k.startswith("ECONNECT_")}
    env["PIPELINE_S3_PREFIX"] = "uk-only/"
    done = materialise_everything_with(env, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "econnect: off, not configured (ECONNECT_API_URL, ECONNECT_USERNAME" in done.stderr
    body = s3_client.get_object(Bucket=sandbox.s3.bucket, Key="uk-only/charger_models_UK.csv")["Body"]
    assert body.read().decode("utf-8") == expected.uk_csv_text(sandbox.registry)
    assert sorted(p.name for p in (tmp_path / "data" / "raw").iterdir()) == [
        "uk_ocpi",
        "uk_ocpi_tariffs",
        "uk_registry",
    ]
    assert "uk_ocpi: on (10 feeds in" in done.stderr  # the sandbox's operators, one of them down
    points = s3_client.get_object(Bucket=sandbox.s3.bucket, Key="uk-only/charge_points_UK.csv")["Body"].read()
    assert points.decode("utf-8").startswith(
        "Operator,ParkingType,Connectors,MaxPowerKW,PostCode,MonthUpdated,Count\n"
    )
    assert not (tmp_path / "data" / "reports" / PARTITION / f"econnect_stations_{PARTITION}.xlsx").exists()
