"""The registry's change sensor: a conditional GET with the ETag/Last-Modified of the latest snapshot."""

import json

from dagster import AssetKey, DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from pipeline.orchestration.change import POLL_SECONDS, latest_snapshot_metadata, snapshot_request
from pipeline.resources.http import UpstreamError
from pipeline.sources.uk_registry import NAME
from pipeline.sources.uk_registry.assets import UPSTREAM_VALIDATORS, uk_registry_snapshot
from pipeline.sources.uk_registry.client import RegistryApi

RAW = AssetKey("uk_registry_snapshot")


@sensor(
    name=f"{NAME}_change_sensor",
    asset_selection=[uk_registry_snapshot],
    minimum_interval_seconds=POLL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Conditional GET (ETag/Last-Modified) on the registry-format source; snapshots on change.",
)
def uk_registry_change_sensor(
    context: SensorEvaluationContext, uk_registry: RegistryApi
) -> SensorResult | SkipReason:
    stored = latest_snapshot_metadata(context, RAW, UPSTREAM_VALIDATORS)
    known = stored if isinstance(stored, dict) else {}
    try:
        changed, current = uk_registry.changed_since(known)
    except UpstreamError as exc:
        return SkipReason(f"Could not poll the registry: {exc}")
    if changed is None:
        return SkipReason("The registry sends no ETag/Last-Modified; the daily schedule takes the snapshot.")
    if not changed and known:
        return SkipReason("The registry is unchanged since the last snapshot (304 Not Modified).")
    return snapshot_request(RAW, json.dumps(current, sort_keys=True))
