"""UK registry assets: raw registry snapshot → devices → model counts → the CSV on S3."""

from collections.abc import Iterator
from pathlib import Path

import ijson
import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetOut,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from pipeline.orchestration.partitions import daily_snapshots, must_fetch, one_run_per_day
from pipeline.resources.metadata import table_metadata
from pipeline.resources.storage import DataDir, S3Bucket, atomic_path
from pipeline.sources.contract import Rejects, frame_type
from pipeline.sources.quality import QualitySettings, reject_share_check, totals_check, unique_ids_check
from pipeline.sources.uk_chargepoints import transforms
from pipeline.sources.uk_chargepoints.client import NcrApi
from pipeline.sources.uk_chargepoints.schema import ChargeDevices, ChargerModelCounts

GROUP = "uk_chargepoints"
RAW_SOURCE = "uk_chargepoints"
# At most one run at a time downloads the registry (the instance sets every pool's limit to 1).
POOL = "ncr_api"
CSV_NAME = "charger_models_UK.csv"
# Metadata key on uk_registry_snapshot: the ETag/Last-Modified the change sensor sends back.
UPSTREAM_VALIDATORS = "upstream_validators"


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


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    kinds={"api", "json"},
    pool=POOL,
)
def uk_registry_snapshot(
    context: AssetExecutionContext, ncr_api: NcrApi, data_dir: DataDir
) -> MaterializeResult:
    """The National Chargepoint Registry document exactly as returned, streamed to the raw zone.

    Stored at `{PIPELINE_DATA_DIR}/raw/uk_chargepoints/{day}/registry.json`; the file is replaced only
    once the download is complete.
    """
    target = registry_file(data_dir, context.partition_key)
    if not must_fetch(context.partition_key, stored=target.is_file(), source="UK registry"):
        context.log.info(f"{context.partition_key} is a past day: reusing its stored snapshot, no HTTP call")
        return MaterializeResult(
            metadata={
                "bytes": target.stat().st_size,
                "reused_stored_snapshot": True,
                "path": MetadataValue.path(str(target)),
            }
        )
    client = ncr_api.http_client()
    with atomic_path(target) as tmp:
        download = ncr_api.download(tmp, client)
    return MaterializeResult(
        metadata={
            **client.stats.as_metadata(),
            "bytes": download.bytes,
            UPSTREAM_VALIDATORS: MetadataValue.json(download.validators),
            "path": MetadataValue.path(str(target)),
        }
    )


@multi_asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    deps=[uk_registry_snapshot],
    outs={
        "uk_charge_devices": AssetOut(
            dagster_type=frame_type(ChargeDevices),
            kinds={"pandas"},
            description="One row per UK charge device with a model: normalised postcode, month last updated.",
        ),
        "uk_charge_device_rejects": AssetOut(
            dagster_type=frame_type(Rejects),
            kinds={"pandas"},
            description="Registry records that broke the contract: position, reason, the record.",
        ),
    },
    check_specs=[
        AssetCheckSpec("ids_unique", asset="uk_charge_devices", blocking=True),
        AssetCheckSpec(
            "reject_share",
            asset="uk_charge_device_rejects",
            description="At most PIPELINE_MAX_REJECT_SHARE of the records may break the contract.",
        ),
    ],
)
def uk_clean_charge_devices(
    context: AssetExecutionContext, data_dir: DataDir, quality: QualitySettings
) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    """Validate the stored registry against the device contract; skip devices without a model."""
    devices = transforms.devices_from_records(
        read_charge_devices(registry_file(data_dir, context.partition_key))
    )
    if len(devices.rejects):
        first = devices.rejects.iloc[0].to_dict()
        context.log.warning(f"{len(devices.rejects)} devices broke the registry contract; first: {first}")
    yield Output(
        devices.table,
        output_name="uk_charge_devices",
        metadata={
            **table_metadata(devices.table),
            "records_received": devices.records,
            "skipped_without_model": devices.without_model,
            "duplicate_records": devices.duplicates,
        },
    )
    yield Output(
        devices.rejects, output_name="uk_charge_device_rejects", metadata=table_metadata(devices.rejects)
    )
    yield unique_ids_check("uk_charge_devices", devices.table["ChargeDeviceId"])
    yield reject_share_check(
        "uk_charge_device_rejects",
        rejected=len(devices.rejects),
        received=devices.records,
        limit=quality.max_reject_share,
    )


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    dagster_type=frame_type(ChargerModelCounts),
    kinds={"pandas"},
    check_specs=[AssetCheckSpec("sums_to_devices", asset="uk_charger_model_counts", blocking=True)],
)
def uk_charger_model_counts(
    uk_charge_devices: pd.DataFrame,
) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    """Devices per manufacturer, location type, model, postcode and month updated."""
    counts = transforms.charger_model_counts(uk_charge_devices)
    total = int(counts["Count"].sum())
    yield Output(counts, metadata={**table_metadata(counts), "devices": total})
    yield totals_check("uk_charger_model_counts", "sums_to_devices", {"Count": total}, len(uk_charge_devices))


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    backfill_policy=one_run_per_day,
    kinds={"s3", "csv"},
    check_specs=[
        AssetCheckSpec(
            "uploaded_total_equals_devices",
            asset="uk_charger_models_csv",
            description="Reads both uploaded objects back; their Count column must sum to the devices.",
        )
    ],
)
def uk_charger_models_csv(
    context: AssetExecutionContext,
    s3_bucket: S3Bucket,
    uk_charger_model_counts: pd.DataFrame,
    uk_charge_devices: pd.DataFrame,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """`charger_models_UK.csv` for the downstream service: the latest at the prefix, plus a dated copy.

    Uploaded to `s3://{PIPELINE_S3_BUCKET}/{PIPELINE_S3_PREFIX}charger_models_UK.csv` and
    `.../{PIPELINE_S3_PREFIX}{day}/charger_models_UK.csv`.
    """
    body = transforms.counts_csv(uk_charger_model_counts)
    keys = {"dated": f"{context.partition_key}/{CSV_NAME}", "latest": CSV_NAME}
    uris = {name: s3_bucket.put(key, body, content_type="text/csv") for name, key in keys.items()}
    yield MaterializeResult(
        metadata={
            "uri": MetadataValue.url(uris["latest"]),
            "dated_uri": MetadataValue.url(uris["dated"]),
            "bytes": len(body),
            "dagster/row_count": len(uk_charger_model_counts),
        }
    )
    totals = {uris[name]: transforms.csv_count_total(s3_bucket.get(key)) for name, key in keys.items()}
    yield totals_check(
        "uk_charger_models_csv", "uploaded_total_equals_devices", totals, len(uk_charge_devices)
    )
