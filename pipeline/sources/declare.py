"""How every source declares its assets: one daily partitioning, one run per day, tags for the catalog.

`layer` says where an asset sits in the flow (`raw`, `clean`, `aggregate`, `report`); orchestration
selects by it (the daily schedule takes today's `raw` snapshots, automation derives the rest), so no
list of asset names exists outside a source's folder. `source` names the upstream.
"""

from __future__ import annotations

from typing import Any, Literal

from dagster import AssetOut, AssetSelection, asset, multi_asset

from pipeline.orchestration.partitions import daily_snapshots, one_run_per_day
from pipeline.sources.contract import frame_type

Layer = Literal["raw", "clean", "aggregate", "report"]
LAYER = "layer"
SOURCE = "source"
RAW: AssetSelection = AssetSelection.tag(LAYER, "raw")


def tags(source: str, layer: Layer) -> dict[str, str]:
    return {SOURCE: source, LAYER: layer}


def snapshot_asset(*, source: str, layer: Layer, **kwargs: Any) -> Any:
    """`@asset` for one day's data of `source`, in its group, partitioned by snapshot day."""
    return asset(
        group_name=source,
        tags=tags(source, layer),
        partitions_def=daily_snapshots,
        backfill_policy=one_run_per_day,
        **kwargs,
    )


def snapshot_multi_asset(*, source: str, **kwargs: Any) -> Any:
    """`@multi_asset` for one day's data of `source`; each spec carries its own `tags(source, layer)`."""
    return multi_asset(
        group_name=source, partitions_def=daily_snapshots, backfill_policy=one_run_per_day, **kwargs
    )


def table_out(
    *, source: str, layer: Layer, model: Any, description: str, metadata: dict[str, Any]
) -> AssetOut:
    """One table output of a `snapshot_multi_asset`: typed by its contract, stored as Parquet, tagged."""
    return AssetOut(
        dagster_type=frame_type(model),
        kinds={"parquet"},
        tags=tags(source, layer),
        description=description,
        metadata=metadata,
    )
