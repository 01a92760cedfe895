"""The ``Sandbox`` starts every fake together and reaches each one through its env; the generators behind
it are deterministic."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from pipeline.sandbox import Sandbox, make_registry, make_stations

REPO = Path(__file__).resolve().parents[2]


def test_sandbox_env_reaches_every_service():
    with Sandbox(stations=30, devices=20) as sandbox:
        env = sandbox.env()
        assert set(env) == {
            "ECONNECT_API_URL",
            "ECONNECT_USERNAME",
            "ECONNECT_PASSWORD",
            "ECONNECT_BUSINESS_PARTNER",
            "NCR_API_URL",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "PIPELINE_S3_BUCKET",
            "UK_OCPI_FEEDS",
            "SANDBOX_OCPI_TOKEN",
        }
        url = f"{env['ECONNECT_API_URL']}/masterdata/cpos/{env['ECONNECT_BUSINESS_PARTNER']}/chargingstations"
        auth = (env["ECONNECT_USERNAME"], env["ECONNECT_PASSWORD"])
        assert requests.get(url, auth=auth, timeout=5).json()["totalElements"] == 30
        assert requests.get(env["NCR_API_URL"], timeout=5).json() == sandbox.registry
        s3 = sandbox.s3.client()
        s3.put_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt", Body=b"probe")
        assert s3.get_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt")["Body"].read()
        s3.delete_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt")


def test_cli_prints_exports_and_stops_on_sigterm():
    command = [sys.executable, "-m", "pipeline.sandbox", "serve", "--stations", "5", "--devices", "5"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(10)]
        try:
            exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines)
            assert requests.get(exports["NCR_API_URL"], timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            rest, errors = process.communicate(timeout=30)
        assert process.returncode == 0, (lines, rest, errors)
        assert "sandbox stopped" in errors


def test_same_seed_same_data_other_seed_other_data(stations, registry):
    assert make_stations() == stations
    assert make_registry() == registry
    assert make_stations(seed=8) != stations
    assert make_registry(seed=12) != registry


def test_small_counts_stay_exact():
    for count in (0, 1, 10, 150):
        assert len(make_stations(count)) == count
        assert len(make_registry(count)["ChargeDevice"]) == count
