"""The one partitioning every data asset shares: the UTC day a snapshot was taken."""

import warnings
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetKey,
    BackfillPolicy,
    BetaWarning,
    DagsterInstance,
    DailyPartitionsDefinition,
    EventLogRecord,
)


def snapshot_partitions(first_day: str) -> DailyPartitionsDefinition:
    """One partition per UTC day from `first_day` (the deployment's first snapshot) to today.

    end_offset=1 makes today's partition exist, so today's snapshot can be taken today (by default a
    daily partition only exists once its day is over).
    """
    return DailyPartitionsDefinition(start_date=first_day, end_offset=1, timezone="UTC")


# What the sources declare their assets with. `orchestration.deployment.Deployment.apply` replaces it
# on every asset with the deployment's own, which starts at its first snapshot.
daily_snapshots = snapshot_partitions("2025-01-01")


def today_key(now: datetime | None = None) -> str:
    """Today's partition key: the UTC day, the only day the upstream APIs can be snapshotted for."""
    return (now or datetime.now(UTC)).astimezone(UTC).date().isoformat()


def week_before(day: str) -> str:
    """The partition key seven days before `day`: what week-over-week figures compare with."""
    return (date.fromisoformat(day) - timedelta(days=7)).isoformat()


class SnapshotUnavailable(RuntimeError):
    """A raw snapshot was asked for a day that cannot be fetched (past and never stored, or future)."""


def must_fetch(partition_key: str, *, stored: bool, source: str, now: datetime | None = None) -> bool:
    """Whether a raw asset fetches for `partition_key` (True) or reuses the stored snapshot (False).

    The upstream APIs only serve the current state, so only today's partition is fetched. A past day is
    re-derived from its stored snapshot; a past day with none fails at once rather than labelling
    today's data with an old date.
    """
    today = today_key(now)
    if partition_key == today:
        return True
    if partition_key < today and stored:
        return False
    if partition_key > today:
        raise SnapshotUnavailable(
            f"{partition_key} is in the future (today is {today} UTC); nothing to fetch."
        )
    raise SnapshotUnavailable(
        f"No {source} snapshot was stored for {partition_key}, and the API serves only the current state, "
        f"so that day cannot be fetched now (today is {today} UTC). Backfill derived assets only for days "
        "with a stored raw snapshot; today's partition can be materialised at any time."
    )


# `backfill_policy` is marked beta in Dagster 1.13; the warning would repeat for every asset on every load
# of the code location and says nothing an operator can act on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)

# Each day is derived from its own raw snapshot, so a backfill launches one run per day: a failed day
# is retried alone, and runs queue behind the instance's concurrency limits instead of one giant step.
one_run_per_day = BackfillPolicy.multi_run(max_partitions_per_run=1)


REUSED = "reused_stored_snapshot"  # metadata flag on a raw materialisation that fetched nothing


def latest_fetched_snapshot(
    instance: DagsterInstance, key: AssetKey, *, scan: int = 100
) -> EventLogRecord | None:
    """The latest materialisation of a raw asset that really fetched from the upstream.

    A backfill re-materialises past days from their stored snapshots; those events are recent but say
    nothing about how fresh the data is or what the upstream looked like, so they are passed over.
    """
    records = instance.fetch_materializations(key, limit=scan).records
    for record in records:
        materialization = record.asset_materialization
        if materialization is not None and REUSED not in materialization.metadata:
            return record
    return None
