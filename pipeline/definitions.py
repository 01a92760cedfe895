"""The one Definitions object: both sources' assets, their orchestration and the resources they share.

Secrets come from the environment through `EnvVar`, resolved when a run starts, so loading these
definitions (the UI, `dg check defs`) never needs credentials. Non-secret settings with a documented
default are read here, once, with that default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import Definitions, EnvVar, in_process_executor, load_assets_from_modules

from pipeline.orchestration.alerts import AlertWebhook, pipeline_run_failure_alert
from pipeline.orchestration.automation import automation_sensor, with_automation
from pipeline.orchestration.schedules import (
    build_snapshot_schedule,
    freshness_job,
    freshness_schedule,
    raw_snapshot_freshness,
    raw_snapshots_job,
)
from pipeline.orchestration.sensors import econnect_change_sensor, ncr_change_sensor
from pipeline.orchestration.settings import OrchestrationSettings
from pipeline.resources.http import HttpSettings
from pipeline.resources.storage import DataDir, S3Bucket
from pipeline.resources.tables import ParquetTables
from pipeline.sources.econnect import assets as econnect_assets
from pipeline.sources.econnect import history as econnect_history
from pipeline.sources.econnect.client import DEFAULT_API_URL as ECONNECT_DEFAULT_URL
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.quality import QualitySettings
from pipeline.sources.uk_chargepoints import assets as uk_assets
from pipeline.sources.uk_chargepoints import history as uk_history
from pipeline.sources.uk_chargepoints.client import DEFAULT_API_URL as NCR_DEFAULT_URL
from pipeline.sources.uk_chargepoints.client import NcrApi


def build_definitions(
    environ: Mapping[str, str] = os.environ, *, http: HttpSettings | None = None
) -> Definitions:
    """Definitions for this environment. Tests call it with a sandbox environment and faster retries."""
    settings = OrchestrationSettings.from_env(environ)
    assets = load_assets_from_modules([econnect_assets, econnect_history, uk_assets, uk_history])
    return Definitions(
        assets=with_automation(assets, settings),  # type: ignore[arg-type]
        asset_checks=[raw_snapshot_freshness],
        jobs=[raw_snapshots_job, freshness_job],
        schedules=[build_snapshot_schedule(settings), freshness_schedule],
        sensors=[automation_sensor, econnect_change_sensor, ncr_change_sensor, pipeline_run_failure_alert],
        resources=_resources(environ, http or HttpSettings()),
        # One process per run: spawning a process per step costs more than the steps on a 2-core box,
        # and the I/O-bound steps already overlap their requests with threads.
        executor=in_process_executor,
    )


def _resources(environ: Mapping[str, str], http: HttpSettings) -> dict[str, object]:
    data_dir = environ.get("PIPELINE_DATA_DIR", "./data")
    webhook = "PIPELINE_ALERT_WEBHOOK_URL"
    return {
        "econnect_api": EConnectApi(
            base_url=environ.get("ECONNECT_API_URL", ECONNECT_DEFAULT_URL),
            username=EnvVar("ECONNECT_USERNAME"),
            password=EnvVar("ECONNECT_PASSWORD"),
            business_partner=EnvVar("ECONNECT_BUSINESS_PARTNER"),
            max_concurrency=int(environ.get("ECONNECT_MAX_CONCURRENCY", "4")),
            max_rps=float(environ["ECONNECT_MAX_RPS"]) if environ.get("ECONNECT_MAX_RPS") else None,
            http=http,
        ),
        "ncr_api": NcrApi(url=environ.get("NCR_API_URL", NCR_DEFAULT_URL), http=http),
        "data_dir": DataDir(path=data_dir),
        "io_manager": ParquetTables(data_dir=data_dir),
        "quality": QualitySettings(max_reject_share=float(environ.get("PIPELINE_MAX_REJECT_SHARE", "0.01"))),
        "s3_bucket": S3Bucket(
            bucket=EnvVar("PIPELINE_S3_BUCKET"), prefix=environ.get("PIPELINE_S3_PREFIX", "")
        ),
        "alert_webhook": AlertWebhook(
            url=EnvVar(webhook) if environ.get(webhook) else "",
            ui_base_url=environ.get("PIPELINE_UI_URL", "http://127.0.0.1:3000"),
        ),
    }


defs = build_definitions()
