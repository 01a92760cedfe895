"""UK registry history: devices per manufacturer across the stored daily snapshots."""

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from pipeline.orchestration.partitions import daily_snapshots, one_run_per_day
from pipeline.resources.storage import DataDir
from pipeline.sources.uk_chargepoints import transforms

GROUP = "uk_chargepoints"


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    deps=["uk_charger_model_counts"],
    kinds={"pandas"},
)
def uk_manufacturer_history(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
    """Devices per manufacturer on every stored day up to this one; metadata shows the change over
    the week (against the snapshot 7 days before, when one was stored)."""
    day = context.partition_key
    stored = data_dir.stored_partitions("uk_charger_model_counts", up_to=day)
    history = transforms.manufacturer_history(
        {stored_day: _per_manufacturer(path) for stored_day, path in stored.items()}
    )
    baseline = (date.fromisoformat(day) - timedelta(days=7)).isoformat()
    metadata: dict[str, MetadataValue] = {
        "dagster/row_count": MetadataValue.int(len(history)),
        "days": MetadataValue.int(len(stored)),
    }
    if baseline in stored:
        weekly = transforms.week_over_week(
            history, key="ChargeDeviceManufacturer", value="devices", day=day, week_before=baseline
        )
        metadata["week_over_week"] = MetadataValue.md(weekly.to_markdown(index=False))
    else:
        metadata["week_over_week"] = MetadataValue.md(f"_No snapshot stored for {baseline}._")
    return Output(history, metadata=metadata)


def _per_manufacturer(counts_path: Path) -> pd.DataFrame:
    """One stored day's counts summed per manufacturer in Arrow (a day's counts can be large)."""
    table = pq.read_table(counts_path, columns=["ChargeDeviceManufacturer", "Count"])
    summed = table.group_by("ChargeDeviceManufacturer", use_threads=False).aggregate([("Count", "sum")])
    return summed.rename_columns(["ChargeDeviceManufacturer", "Count"]).to_pandas()
