"""eConnect's change sensor: page 0's `totalElements` and content hash against the latest snapshot's."""

from dagster import AssetKey, DefaultSensorStatus, SensorEvaluationContext, SensorResult, SkipReason, sensor

from pipeline.orchestration.change import POLL_SECONDS, latest_snapshot_metadata, snapshot_request
from pipeline.resources.http import UpstreamError
from pipeline.sources.econnect import NAME
from pipeline.sources.econnect.assets import UPSTREAM_FINGERPRINT, econnect_station_pages
from pipeline.sources.econnect.client import EConnectApi

RAW = AssetKey("econnect_station_pages")


@sensor(
    name=f"{NAME}_change_sensor",
    asset_selection=[econnect_station_pages],
    minimum_interval_seconds=POLL_SECONDS,
    default_status=DefaultSensorStatus.RUNNING,
    description="Polls page 0 of the eConnect API (totalElements + content hash); snapshots on change.",
)
def econnect_change_sensor(
    context: SensorEvaluationContext, econnect: EConnectApi
) -> SensorResult | SkipReason:
    try:
        current = econnect.fingerprint()
    except UpstreamError as exc:
        return SkipReason(f"Could not poll eConnect: {exc}")
    if current == latest_snapshot_metadata(context, RAW, UPSTREAM_FINGERPRINT):
        return SkipReason(f"eConnect unchanged since the last snapshot ({current}).")
    return snapshot_request(RAW, current)
