"""The daily snapshot schedule and the freshness watch, over every asset tagged `layer: raw`."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    asset_check,
    define_asset_job,
    schedule,
)

# What `define_asset_job` returns; dagster does not export the type itself.
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition as AssetJob,
)

from pipeline.orchestration.partitions import latest_fetched_snapshot, today_key
from pipeline.orchestration.settings import OrchestrationSettings
from pipeline.sources.declare import RAW

MAX_SNAPSHOT_AGE = timedelta(hours=26)

raw_snapshots_job = define_asset_job(
    "raw_snapshots",
    selection=RAW,
    description="Today's raw snapshot of every configured source (assets tagged layer: raw); everything "
    "downstream follows by automation.",
)


def build_snapshot_schedule(settings: OrchestrationSettings) -> ScheduleDefinition:
    @schedule(
        name="daily_raw_snapshots",
        job=raw_snapshots_job,
        cron_schedule=settings.snapshot_cron,
        execution_timezone=settings.timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Takes today's (UTC) raw snapshot of every configured source.",
    )
    def daily_raw_snapshots(context: ScheduleEvaluationContext) -> RunRequest:
        tick = context.scheduled_execution_time or datetime.now(UTC)
        partition = today_key(tick)
        return RunRequest(run_key=f"snapshot-{partition}", partition_key=partition)

    return daily_raw_snapshots


def build_freshness(
    raw_keys: Sequence[AssetKey],
) -> tuple[list[AssetChecksDefinition], AssetJob, ScheduleDefinition]:
    """The `snapshot_fresh` check on every raw asset, its job, and the hourly schedule that runs it.

    One check per raw asset, not one multi-check: in a run that also materialises the raw assets, a
    feed that failed (and so was not materialised) must not make every other asset's check skip.
    """
    checks = [_freshness_check(key) for key in raw_keys]
    job = define_asset_job(
        "snapshot_freshness",
        selection=AssetSelection.checks(*checks),
        description="Runs the snapshot_fresh check of every raw asset.",
    )
    hourly = ScheduleDefinition(
        name="hourly_freshness_check",
        job=job,
        cron_schedule="17 * * * *",
        default_status=DefaultScheduleStatus.RUNNING,
        description="Every hour: warns when a source's latest raw snapshot is older than 26 hours.",
    )
    return checks, job, hourly


def _freshness_check(key: AssetKey) -> AssetChecksDefinition:
    @asset_check(
        asset=key,
        name="snapshot_fresh",
        description="The latest snapshot is at most 26 hours old.",
    )
    def snapshot_fresh(context: AssetCheckExecutionContext) -> AssetCheckResult:
        return _freshness(context, key, datetime.now(UTC))

    return snapshot_fresh


def _freshness(context: AssetCheckExecutionContext, key: AssetKey, now: datetime) -> AssetCheckResult:
    fetched = latest_fetched_snapshot(context.instance, key)  # a backfill's reuse is not fresh data
    age = now - datetime.fromtimestamp(fetched.timestamp, UTC) if fetched else None
    return AssetCheckResult(
        asset_key=key,
        check_name="snapshot_fresh",
        passed=age is not None and age <= MAX_SNAPSHOT_AGE,
        severity=AssetCheckSeverity.WARN,
        description="Never materialised." if age is None else f"Latest snapshot is {age} old.",
        metadata={
            "age_hours": MetadataValue.float(round(age.total_seconds() / 3600, 2)) if age else None,
            "max_age_hours": MAX_SNAPSHOT_AGE.total_seconds() / 3600,
        },
    )
