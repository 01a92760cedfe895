"""eConnect history: what the stored daily snapshots say together (the upstream keeps no history).

Each day's figures come from that day's table when it exists, or are derived from that day's raw
snapshot when it does not (yet): both give the same numbers, so a day's history never depends on the
order in which a backfill's runs happen to finish.
"""

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from pipeline.orchestration.partitions import week_before
from pipeline.resources.lake import read_parquet
from pipeline.resources.metadata import markdown_table
from pipeline.resources.storage import DataDir
from pipeline.resources.tables import columns_in
from pipeline.sources import catalog
from pipeline.sources.catalog import columns
from pipeline.sources.contract import frame_type
from pipeline.sources.declare import snapshot_asset
from pipeline.sources.econnect import NAME, transforms
from pipeline.sources.econnect.raw import read_pages
from pipeline.sources.econnect.schema import ModelStateChanges, StateHistory, StationCounts, Stations

HISTORY_DAYS_SHOWN = 14


def stored_stations(data_dir: DataDir, day: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A day's stations (`columns` of them, or all): its table, else derived from its raw snapshot,
    else None (never stored)."""
    table = data_dir.table_path("econnect_stations", day)
    if table.exists():
        return read_parquet(table, columns=columns)
    raw = data_dir.raw(NAME).snapshot(day)
    return transforms.stations_from_pages(read_pages(raw)).table if raw.complete else None


def stored_state_counts(data_dir: DataDir, day: str) -> pd.DataFrame:
    table = data_dir.table_path("econnect_station_counts", day)
    if table.exists():
        return read_parquet(table, filters=[("field", "==", "state")])
    stations = stored_stations(data_dir, day)
    return transforms.station_counts(stations) if stations is not None else pd.DataFrame()


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    deps=["econnect_station_counts"],
    kinds={"parquet"},
    dagster_type=frame_type(StateHistory),
    metadata=catalog.table(
        StateHistory,
        upstream={"econnect_station_counts": columns(StationCounts)},
        computed_from={"day": [], "state": ["value"], "stations": ["count"]},
    ),
)
def econnect_state_history(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
    """Stations per lifecycle state on every stored day up to this one (long: day, state, stations)."""
    days = data_dir.raw(NAME).days(up_to=context.partition_key)
    history = transforms.state_history({day: stored_state_counts(data_dir, day) for day in days})
    wide = transforms.state_history_wide(history).tail(HISTORY_DAYS_SHOWN)
    return Output(
        history,
        metadata={
            "dagster/row_count": len(history),
            "days": len(days),
            "history": MetadataValue.md(markdown_table(wide, index=True, empty="_(no stored days)_")),
        },
    )


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    kinds={"parquet"},
    dagster_type=frame_type(ModelStateChanges),
    metadata=catalog.table(
        ModelStateChanges,
        upstream={"econnect_stations": columns(Stations)},
        computed_from={"from_state": ["state"], "to_state": ["state"], "stations": ["id"]},
    ),
    ins={"econnect_stations": columns_in(*transforms.CHANGE_COLUMNS)},
)
def econnect_model_state_changes(
    context: AssetExecutionContext, data_dir: DataDir, econnect_stations: pd.DataFrame
) -> Output[pd.DataFrame]:
    """Week over week, per model: how many stations changed state since the snapshot 7 days before
    (e.g. PLANNED → OPERATIONAL); `(new)` and `(gone)` for stations that appeared or disappeared.
    Empty when no snapshot was stored 7 days before."""
    baseline_day = week_before(context.partition_key)
    baseline = stored_stations(data_dir, baseline_day, list(transforms.CHANGE_COLUMNS))
    if baseline is None:
        context.log.info(f"No eConnect snapshot stored for {baseline_day}; nothing to compare with.")
        changes = transforms.model_state_changes(econnect_stations.iloc[0:0], econnect_stations.iloc[0:0])
    else:
        changes = transforms.model_state_changes(baseline, econnect_stations)
    planned_to_operational = changes.loc[
        (changes["from_state"] == "PLANNED") & (changes["to_state"] == "OPERATIONAL"), "stations"
    ].sum()
    return Output(
        changes,
        metadata={
            "dagster/row_count": len(changes),
            "compared_with": baseline_day if baseline is not None else f"{baseline_day} (not stored)",
            "planned_to_operational": int(planned_to_operational),
            "changes": MetadataValue.md(markdown_table(changes, empty="_(none)_")),
        },
    )
