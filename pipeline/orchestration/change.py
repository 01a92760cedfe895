"""What every source's change sensor shares: the state its latest snapshot recorded, and the request.

A change sensor polls its upstream cheaply and compares what it sees with the state recorded on the
latest raw snapshot that really fetched (its materialisation metadata). The run key holds the day and
that state, so one change causes one run however often the sensor polls before the snapshot lands; the
cursor shows the last state seen. The sensors themselves live in their sources' folders.
"""

from dagster import AssetKey, RunRequest, SensorEvaluationContext, SensorResult

from pipeline.orchestration.partitions import latest_fetched_snapshot, today_key

POLL_SECONDS = 15 * 60


def latest_snapshot_metadata(context: SensorEvaluationContext, key: AssetKey, name: str) -> object:
    """`name` from the latest snapshot that fetched (a backfill's reuse of an old day records nothing)."""
    record = latest_fetched_snapshot(context.instance, key)
    materialization = record.asset_materialization if record else None
    value = materialization.metadata.get(name) if materialization else None
    return getattr(value, "value", None)


def snapshot_request(key: AssetKey, state: str) -> SensorResult:
    """Today's snapshot of `key`, once per upstream `state`."""
    partition = today_key()
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"{key.path[-1]}-{partition}-{state}", partition_key=partition, asset_selection=[key]
            )
        ],
        cursor=state,
    )
