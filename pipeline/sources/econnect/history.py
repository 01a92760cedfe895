"""eConnect history: what the stored daily snapshots say together (the upstream keeps no history)."""

from datetime import date, timedelta

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from pipeline.orchestration.partitions import daily_snapshots, one_run_per_day
from pipeline.resources.storage import DataDir
from pipeline.sources.econnect import transforms

GROUP = "econnect"
HISTORY_DAYS_SHOWN = 14


def week_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=7)).isoformat()


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    deps=["econnect_station_counts"],
    kinds={"pandas"},
)
def econnect_state_history(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
    """Stations per lifecycle state on every stored day up to this one (long: day, state, stations)."""
    stored = data_dir.stored_partitions("econnect_station_counts", up_to=context.partition_key)
    counts = {day: pd.read_parquet(path, filters=[("field", "==", "state")]) for day, path in stored.items()}
    history = transforms.state_history(counts)
    wide = transforms.state_history_wide(history).tail(HISTORY_DAYS_SHOWN)
    return Output(
        history,
        metadata={
            "dagster/row_count": len(history),
            "days": len(stored),
            "history": MetadataValue.md(wide.to_markdown() if len(wide) else "_(no stored days)_"),
        },
    )


@asset(group_name=GROUP, partitions_def=daily_snapshots, backfill_policy=one_run_per_day, kinds={"pandas"})
def econnect_model_state_changes(
    context: AssetExecutionContext, data_dir: DataDir, econnect_stations: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Week over week, per model: how many stations changed state since the snapshot 7 days before
    (e.g. PLANNED → OPERATIONAL); `(new)` and `(gone)` for stations that appeared or disappeared.
    Empty when no snapshot was stored 7 days before."""
    baseline_day = week_before(context.partition_key)
    baseline = data_dir.table_path("econnect_stations", baseline_day)
    if baseline.is_file():
        changes = transforms.model_state_changes(pd.read_parquet(baseline), econnect_stations)
    else:
        context.log.info(f"No stored econnect_stations for {baseline_day}; nothing to compare with.")
        changes = transforms.model_state_changes(econnect_stations.iloc[0:0], econnect_stations.iloc[0:0])
    planned_to_operational = changes.loc[
        (changes["from_state"] == "PLANNED") & (changes["to_state"] == "OPERATIONAL"), "stations"
    ].sum()
    return Output(
        changes,
        metadata={
            "dagster/row_count": len(changes),
            "compared_with": baseline_day if baseline.is_file() else f"{baseline_day} (not stored)",
            "planned_to_operational": int(planned_to_operational),
            "changes": MetadataValue.md(changes.to_markdown(index=False) if len(changes) else "_(none)_"),
        },
    )
