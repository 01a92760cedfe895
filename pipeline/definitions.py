"""The one Definitions object: what every configured source registers, merged with what they share.

Sources are found, not listed: each folder under `pipeline/sources/` with a `definitions.py` declaring
`SOURCE` is one (see `pipeline/sources/plugin.py`). A source whose settings are missing is left out
and the startup log says why. Orchestration (schedule, automation, freshness) is built over whatever
the sources registered, by their `layer` tags, never by asset names.

Secrets come from the environment through `EnvVar`, resolved when a run starts, so loading these
definitions (the UI, `dg check defs`) never needs credentials. Non-secret settings with a documented
default are read here, once, with that default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import Definitions, EnvVar, definitions, in_process_executor

from pipeline.orchestration.alerts import AlertWebhook, pipeline_run_failure_alert
from pipeline.orchestration.assembly import orchestrate
from pipeline.orchestration.deployment import Deployment
from pipeline.orchestration.settings import OrchestrationSettings
from pipeline.resources.http import HttpSettings
from pipeline.resources.lake import lake_root
from pipeline.resources.storage import DataDir, S3Bucket
from pipeline.resources.tables import ParquetTables
from pipeline.sources.plugin import SourceContext, build_sources, configured, discover, log
from pipeline.sources.quality import QualitySettings


def build_definitions(
    environ: Mapping[str, str] = os.environ, *, http: HttpSettings | None = None
) -> Definitions:
    """Definitions for this environment. Tests call it with a sandbox environment and faster retries."""
    settings = OrchestrationSettings.from_env(environ)
    data_dir = _data_dir(environ)
    # A lake the code cannot honour fails here, at load time, naming the setting.
    deployment = Deployment.from_env(environ, lake_root(data_dir))
    sources, statuses = build_sources(discover(), SourceContext(environ, http or HttpSettings()))
    log.info("Sources:\n  %s", "\n  ".join(statuses))
    merged = Definitions.merge(*sources) if sources else Definitions()
    orchestration = orchestrate(list(merged.assets or []), settings, deployment)
    return Definitions(
        assets=orchestration.assets,
        asset_checks=orchestration.asset_checks,
        jobs=orchestration.jobs,
        schedules=orchestration.schedules,
        sensors=[*(merged.sensors or []), *orchestration.sensors, pipeline_run_failure_alert],
        resources={**dict(merged.resources or {}), **_shared_resources(environ, data_dir)},
        # One process per run: spawning a process per step costs more than the steps on a 2-core box,
        # and the I/O-bound steps already overlap their requests with threads.
        executor=in_process_executor,
        metadata={"sources": "\n".join(statuses)},
    )


def _data_dir(environ: Mapping[str, str]) -> str:
    return environ.get("PIPELINE_DATA_DIR", "").strip() or "./data"


def _shared_resources(environ: Mapping[str, str], data_dir: str) -> dict[str, object]:
    """What every source may use: the data directory, table storage, quality limits, alerts, S3."""
    webhook = "PIPELINE_ALERT_WEBHOOK_URL"
    resources: dict[str, object] = {
        "data_dir": DataDir(path=data_dir),
        "io_manager": ParquetTables(data_dir=data_dir),
        "quality": QualitySettings(max_reject_share=float(environ.get("PIPELINE_MAX_REJECT_SHARE", "0.01"))),
        "alert_webhook": AlertWebhook(
            url=EnvVar(webhook) if configured(environ, webhook) else "",
            ui_base_url=environ.get("PIPELINE_UI_URL", "http://127.0.0.1:3000"),
        ),
    }
    if configured(environ, "PIPELINE_S3_BUCKET"):
        resources["s3_bucket"] = S3Bucket(
            bucket=EnvVar("PIPELINE_S3_BUCKET"), prefix=environ.get("PIPELINE_S3_PREFIX", "")
        )
    return resources


@definitions
def defs() -> Definitions:
    """The code location, built from the environment of the process that loads it (webserver, daemon,
    run worker, `dg` or `dagster asset materialize`), when it loads it."""
    return build_definitions()
