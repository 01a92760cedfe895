"""Source-change sensors: poll each upstream cheaply, take a snapshot only when it changed.

Each sensor compares the upstream's current state with the state recorded on the latest raw snapshot
(its materialisation metadata). The run key holds the day and that state, so one change causes one run
however often the sensor polls before the snapshot lands; the cursor shows the last state seen.
"""

import json

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from pipeline.orchestration.partitions import latest_fetched_snapshot, today_key
from pipeline.orchestration.schedules import raw_snapshots_job
from pipeline.resources.http import UpstreamError
from pipeline.sources.econnect.assets import UPSTREAM_FINGERPRINT
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.uk_chargepoints.assets import UPSTREAM_VALIDATORS
from pipeline.sources.uk_chargepoints.client import NcrApi

POLL_SECONDS = 15 * 60
ECONNECT_RAW = AssetKey("econnect_station_pages")
NCR_RAW = AssetKey("uk_registry_snapshot")


def _latest_metadata(context: SensorEvaluationContext, key: AssetKey, name: str) -> object:
    """`name` from the latest snapshot that fetched (a backfill's reuse of an old day records nothing)."""
    record = latest_fetched_snapshot(context.instance, key)
    materialization = record.asset_materialization if record else None
    value = materialization.metadata.get(name) if materialization else None
    return getattr(value, "value", None)


def _snapshot(key: AssetKey, state: str) -> SensorResult:
    partition = today_key()
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"{key.path[-1]}-{partition}-{state}", partition_key=partition, asset_selection=[key]
            )
        ],
        cursor=state,
    )


@sensor(
    name="econnect_change_sensor",
    job=raw_snapshots_job,
    minimum_interval_seconds=POLL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Polls page 0 of the eConnect API (totalElements + content hash); snapshots on change.",
)
def econnect_change_sensor(
    context: SensorEvaluationContext, econnect_api: EConnectApi
) -> SensorResult | SkipReason:
    try:
        current = econnect_api.fingerprint()
    except UpstreamError as exc:
        return SkipReason(f"Could not poll eConnect: {exc}")
    if current == _latest_metadata(context, ECONNECT_RAW, UPSTREAM_FINGERPRINT):
        return SkipReason(f"eConnect unchanged since the last snapshot ({current}).")
    return _snapshot(ECONNECT_RAW, current)


@sensor(
    name="ncr_change_sensor",
    job=raw_snapshots_job,
    minimum_interval_seconds=POLL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Conditional GET (ETag/Last-Modified) on the UK registry; snapshots on change.",
)
def ncr_change_sensor(context: SensorEvaluationContext, ncr_api: NcrApi) -> SensorResult | SkipReason:
    stored = _latest_metadata(context, NCR_RAW, UPSTREAM_VALIDATORS)
    known = stored if isinstance(stored, dict) else {}
    try:
        changed, current = ncr_api.changed_since(known)
    except UpstreamError as exc:
        return SkipReason(f"Could not poll the registry: {exc}")
    if changed is None:
        return SkipReason("The registry sends no ETag/Last-Modified; the daily schedule takes the snapshot.")
    if not changed and known:
        return SkipReason("The registry is unchanged since the last snapshot (304 Not Modified).")
    return _snapshot(NCR_RAW, json.dumps(current, sort_keys=True))
