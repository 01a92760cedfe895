"""UK registry history: devices per manufacturer across the stored daily snapshots."""

import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from dagster import AssetExecutionContext, MetadataValue, Output

from pipeline.orchestration.partitions import week_before
from pipeline.resources.lake import read_table
from pipeline.resources.metadata import markdown_table
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.catalog import columns
from pipeline.sources.contract import frame_type
from pipeline.sources.declare import snapshot_asset
from pipeline.sources.uk_registry import NAME, transforms
from pipeline.sources.uk_registry.raw import read_charge_devices
from pipeline.sources.uk_registry.schema import ChargerModelCounts, ManufacturerHistory
from pipeline.sources.uk_registry.staging import clean_devices_to


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    deps=["uk_registry_model_counts"],
    kinds={"parquet"},
    dagster_type=frame_type(ManufacturerHistory),
    metadata=catalog.table(
        ManufacturerHistory,
        upstream={"uk_registry_model_counts": columns(ChargerModelCounts)},
        computed_from={"day": [], "devices": ["Count"]},
    ),
)
def uk_registry_manufacturer_history(
    context: AssetExecutionContext, data_dir: DataDir
) -> Output[pd.DataFrame]:
    """Devices per manufacturer on every stored day up to this one; metadata shows the change over
    the week (against the snapshot 7 days before, when one was stored)."""
    day = context.partition_key
    stored = data_dir.raw(NAME).days(up_to=day)
    history = transforms.manufacturer_history(
        {stored_day: _per_manufacturer(data_dir, stored_day) for stored_day in stored}
    )
    baseline = week_before(day)
    metadata: dict[str, MetadataValue] = {
        "dagster/row_count": MetadataValue.int(len(history)),
        "days": MetadataValue.int(len(stored)),
    }
    if baseline in stored:
        weekly = transforms.week_over_week(
            history, key="ChargeDeviceManufacturer", value="devices", day=day, week_before=baseline
        )
        metadata["week_over_week"] = MetadataValue.md(markdown_table(weekly))
    else:
        metadata["week_over_week"] = MetadataValue.md(f"_No snapshot stored for {baseline}._")
    return Output(history, metadata=metadata)


def _per_manufacturer(data_dir: DataDir, day: str) -> pd.DataFrame:
    """One stored day's devices per manufacturer, summed in Arrow (a day's counts can be large).

    From the day's counts table, or, when that is not written (yet), from its raw snapshot: the same
    numbers either way, so the history never depends on the order a backfill's runs finish in.
    """
    counts_path = data_dir.table_path("uk_registry_model_counts", day)
    if counts_path.exists():
        table = read_table(counts_path, columns=["ChargeDeviceManufacturer", "Count"])
    else:
        with tempfile.TemporaryDirectory() as scratch:
            devices_path = Path(scratch) / "devices.parquet"
            clean_devices_to(devices_path, read_charge_devices(data_dir.raw(NAME).snapshot(day)))
            devices = pq.read_table(devices_path, columns=list(transforms.COUNT_KEYS))
        table = transforms.charger_model_counts(devices)
    summed = table.group_by("ChargeDeviceManufacturer", use_threads=False).aggregate([("Count", "sum")])
    return summed.rename_columns(["ChargeDeviceManufacturer", "Count"]).to_pandas()
