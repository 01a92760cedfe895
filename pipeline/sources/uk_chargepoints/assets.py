"""UK registry assets: raw registry snapshot → devices → model counts → the CSV on S3."""

from collections.abc import Iterator
from pathlib import Path

import ijson
import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, Output, asset

from pipeline.orchestration.partitions import daily_snapshots
from pipeline.resources.metadata import table_metadata
from pipeline.resources.storage import DataDir, S3Bucket, atomic_path
from pipeline.sources.contract import frame_type
from pipeline.sources.uk_chargepoints import transforms
from pipeline.sources.uk_chargepoints.client import NcrApi
from pipeline.sources.uk_chargepoints.schema import ChargeDevices, ChargerModelCounts

GROUP = "uk_chargepoints"
RAW_SOURCE = "uk_chargepoints"
CSV_NAME = "charger_models_UK.csv"


def registry_file(data_dir: DataDir, partition: str) -> Path:
    return data_dir.raw_dir(RAW_SOURCE, partition) / "registry.json"


def read_charge_devices(path: Path) -> Iterator[object]:
    """Stream `ChargeDevice` items from a stored registry document without loading it whole."""
    if not path.is_file():
        raise FileNotFoundError(
            f"No raw registry snapshot at {path}. Materialise uk_registry_snapshot for this partition first."
        )
    with path.open("rb") as stream:
        top_level_keys = {key for key, _ in ijson.kvitems(stream, "", use_float=True) if key}
    if "ChargeDevice" not in top_level_keys:
        raise ValueError(
            f"{path} has no top-level `ChargeDevice` list (keys: {sorted(top_level_keys)}); the registry "
            "format changed or NCR_API_URL points at another service."
        )
    with path.open("rb") as stream:
        yield from ijson.items(stream, "ChargeDevice.item", use_float=True)


@asset(group_name=GROUP, partitions_def=daily_snapshots, kinds={"api", "json"})
def uk_registry_snapshot(
    context: AssetExecutionContext, ncr_api: NcrApi, data_dir: DataDir
) -> MaterializeResult:
    """The National Chargepoint Registry document exactly as returned, streamed to the raw zone.

    Stored at `{PIPELINE_DATA_DIR}/raw/uk_chargepoints/{day}/registry.json`; the file is replaced only
    once the download is complete.
    """
    target = registry_file(data_dir, context.partition_key)
    client = ncr_api.http_client()
    with atomic_path(target) as tmp:
        size = ncr_api.download(tmp, client)
    return MaterializeResult(
        metadata={**client.stats.as_metadata(), "bytes": size, "path": MetadataValue.path(str(target))}
    )


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    deps=[uk_registry_snapshot],
    dagster_type=frame_type(ChargeDevices),
    kinds={"pandas"},
)
def uk_charge_devices(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
    """One row per UK charge device with a model: normalised postcode and the month it was last updated."""
    devices = transforms.devices_from_records(
        read_charge_devices(registry_file(data_dir, context.partition_key))
    )
    if len(devices.rejects):
        first = devices.rejects.iloc[0].to_dict()
        context.log.warning(f"{len(devices.rejects)} devices broke the registry contract; first: {first}")
    return Output(
        devices.table,
        metadata={
            **table_metadata(devices.table),
            "skipped_without_model": devices.without_model,
            "duplicate_records": devices.duplicates,
            "rejected_records": len(devices.rejects),
        },
    )


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    dagster_type=frame_type(ChargerModelCounts),
    kinds={"pandas"},
)
def uk_charger_model_counts(uk_charge_devices: pd.DataFrame) -> Output[pd.DataFrame]:
    """Devices per manufacturer, location type, model, postcode and month updated."""
    counts = transforms.charger_model_counts(uk_charge_devices)
    return Output(counts, metadata={**table_metadata(counts), "devices": int(counts["Count"].sum())})


@asset(group_name=GROUP, partitions_def=daily_snapshots, kinds={"s3", "csv"})
def uk_charger_models_csv(
    context: AssetExecutionContext, s3_bucket: S3Bucket, uk_charger_model_counts: pd.DataFrame
) -> MaterializeResult:
    """`charger_models_UK.csv` for the downstream service: the latest at the prefix, plus a dated copy.

    Uploaded to `s3://{PIPELINE_S3_BUCKET}/{PIPELINE_S3_PREFIX}charger_models_UK.csv` and
    `.../{PIPELINE_S3_PREFIX}{day}/charger_models_UK.csv`.
    """
    body = transforms.counts_csv(uk_charger_model_counts)
    dated = s3_bucket.put(f"{context.partition_key}/{CSV_NAME}", body, content_type="text/csv")
    latest = s3_bucket.put(CSV_NAME, body, content_type="text/csv")
    return MaterializeResult(
        metadata={
            "uri": MetadataValue.url(latest),
            "dated_uri": MetadataValue.url(dated),
            "bytes": len(body),
            "dagster/row_count": len(uk_charger_model_counts),
        }
    )
