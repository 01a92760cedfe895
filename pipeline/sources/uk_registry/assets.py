"""UK registry assets: raw registry snapshot → devices → model counts → the CSV on S3."""

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
)

from pipeline.orchestration.partitions import REUSED, must_fetch
from pipeline.resources.lake import location, parquet_file, read_table, writing
from pipeline.resources.metadata import PREVIEW_ROWS, markdown_table, table_metadata
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.catalog import columns, record_schema, rejects_from
from pipeline.sources.contract import Rejects, rejects_frame
from pipeline.sources.csv_output import BATCH_ROWS, Counts, CountsCsv, counts_csv_asset
from pipeline.sources.declare import snapshot_asset, snapshot_multi_asset, tags
from pipeline.sources.quality import (
    QualitySettings,
    cleaning_check_specs,
    distinct_ids_check,
    reject_share_check,
    totals_check,
)
from pipeline.sources.uk_registry import NAME, transforms
from pipeline.sources.uk_registry.client import RegistryApi, validators_of
from pipeline.sources.uk_registry.raw import DOCUMENT, read_charge_devices
from pipeline.sources.uk_registry.schema import (
    CSV_HEADER,
    ChargeDeviceRecord,
    ChargeDevices,
    ChargerModelCounts,
)
from pipeline.sources.uk_registry.staging import clean_devices_to, distinct_ids, write_table

CSV = CountsCsv(
    file="charger_models_UK.csv",
    header=CSV_HEADER,
    asset="uk_registry_models_csv",
    check="uploaded_total_equals_devices",
)
# Metadata key on uk_registry_snapshot: the ETag/Last-Modified the change sensor sends back.
UPSTREAM_VALIDATORS = "upstream_validators"

# What the catalog shows: each table's columns, and the upstream columns each is computed from.
RAW_FIELDS = record_schema(ChargeDeviceRecord, record="device in `ChargeDevice`")
FROM_SNAPSHOT = {"uk_registry_snapshot": columns(RAW_FIELDS)}
COUNTS_COLUMNS = columns(ChargerModelCounts)


@snapshot_asset(
    source=NAME, layer="raw", kinds={"api", "json"}, pool=NAME, metadata=catalog.table(RAW_FIELDS)
)
def uk_registry_snapshot(
    context: AssetExecutionContext, uk_registry: RegistryApi, data_dir: DataDir
) -> MaterializeResult:
    """The registry-format document exactly as returned, streamed to the raw zone.

    Stored at `{PIPELINE_DATA_DIR}/raw/uk_registry/{day}/`; it becomes the day's snapshot only once the
    download is complete and parses to its end.
    """
    zone = data_dir.raw(NAME)
    snapshot = zone.snapshot(context.partition_key)
    if not must_fetch(context.partition_key, stored=snapshot.complete, source="UK registry"):
        context.log.info(f"{context.partition_key} is a past day: reusing its stored snapshot, no HTTP call")
        return MaterializeResult(
            metadata={
                "bytes": snapshot.size,
                REUSED: True,
                "path": location(snapshot.folder),
            }
        )
    client = uk_registry.http_client()
    with zone.writing(context.partition_key) as writer:
        download = uk_registry.download(writer.path(DOCUMENT), client)
    return MaterializeResult(
        metadata={
            **client.stats.as_metadata(),
            "bytes": download.bytes,
            UPSTREAM_VALIDATORS: MetadataValue.json(validators_of(download.headers)),
            "path": location(snapshot.folder),
        }
    )


@snapshot_multi_asset(
    source=NAME,
    specs=[
        AssetSpec(
            "uk_registry_devices",
            deps=[uk_registry_snapshot],
            kinds={"parquet"},
            tags=tags(NAME, "clean"),
            description="One row per UK charge device with a model: normalised postcode, month last updated.",
            metadata=catalog.table(
                ChargeDevices,
                upstream=FROM_SNAPSHOT,
                computed_from={
                    "PostCode": ["ChargeDeviceLocation.Address.PostCode"],
                    "MonthUpdated": ["DateUpdated"],
                },
            ),
        ),
        AssetSpec(
            "uk_registry_device_rejects",
            deps=[uk_registry_snapshot],
            kinds={"parquet"},
            tags=tags(NAME, "clean"),
            description="Registry records that broke the contract: position, reason, the record.",
            metadata=catalog.table(Rejects, upstream=FROM_SNAPSHOT, computed_from=rejects_from(RAW_FIELDS)),
        ),
    ],
    check_specs=cleaning_check_specs("uk_registry_devices", "uk_registry_device_rejects"),
)
def uk_registry_clean_devices(
    context: AssetExecutionContext, data_dir: DataDir, quality: QualitySettings
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Validate the stored registry against the device contract; skip devices without a model.

    Streams: records are decoded by msgspec a chunk at a time into Arrow batches staged on disk (Arrow
    IPC), deduplicated by id (last version wins) from id hashes taken while staging, then filtered batch
    by batch into the table.
    """
    day = context.partition_key
    target = data_dir.table_path("uk_registry_devices", day)
    with writing(target) as local:
        cleaned = clean_devices_to(local, read_charge_devices(data_dir.raw(NAME).snapshot(day)))
        rows, distinct = distinct_ids(local)
    rejects = rejects_frame(cleaned.rejects)
    write_table(data_dir.table_path("uk_registry_device_rejects", day), pa.Table.from_pandas(rejects))
    if cleaned.rejects:
        context.log.warning(
            f"{len(rejects)} devices broke the registry contract; first: {cleaned.rejects[0]}"
        )
    yield MaterializeResult(
        asset_key="uk_registry_devices",
        metadata={
            "dagster/row_count": cleaned.rows,
            "preview": MetadataValue.md(cleaned.preview),
            "records_received": cleaned.records,
            "skipped_without_model": cleaned.without_model,
            "duplicate_records": cleaned.duplicates,
            "path": location(target),
        },
    )
    yield MaterializeResult(asset_key="uk_registry_device_rejects", metadata=table_metadata(rejects))
    yield distinct_ids_check("uk_registry_devices", rows=rows, distinct=distinct, examples=[])
    yield reject_share_check(
        "uk_registry_device_rejects",
        rejected=len(rejects),
        received=cleaned.records,
        limit=quality.max_reject_share,
    )


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    deps=["uk_registry_devices"],
    kinds={"parquet"},
    metadata=catalog.table(
        ChargerModelCounts,
        upstream={"uk_registry_devices": columns(ChargeDevices)},
        computed_from={"Count": ["ChargeDeviceId"]},
    ),
    check_specs=[
        AssetCheckSpec(
            "sums_to_devices",
            asset="uk_registry_model_counts",
            blocking=True,
            description="The counts add up to the devices in uk_registry_devices.",
        )
    ],
)
def uk_registry_model_counts(
    context: AssetExecutionContext, data_dir: DataDir
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Devices per manufacturer, location type, model, postcode and month updated, sorted by those keys."""
    day = context.partition_key
    keys = list(transforms.COUNT_KEYS)
    devices = read_table(data_dir.table_path("uk_registry_devices", day), columns=keys, read_dictionary=keys)
    counts = transforms.charger_model_counts(devices)
    for batch in counts.to_batches(max_chunksize=65_536):
        ChargerModelCounts.validate(batch.to_pandas())  # the table contract, one batch at a time
    write_table(data_dir.table_path("uk_registry_model_counts", day), counts)
    total = int(pc.sum(counts["Count"]).as_py() or 0)
    yield MaterializeResult(
        metadata={
            "dagster/row_count": counts.num_rows,
            "devices": total,
            "preview": MetadataValue.md(markdown_table(counts.slice(0, PREVIEW_ROWS).to_pandas())),
        }
    )
    yield totals_check("uk_registry_model_counts", "sums_to_devices", {"Count": total}, devices.num_rows)


def _model_counts(data_dir: DataDir, day: str) -> Counts:
    counts = parquet_file(data_dir.table_path("uk_registry_model_counts", day))
    devices = parquet_file(data_dir.table_path("uk_registry_devices", day)).metadata.num_rows
    return Counts(counts.iter_batches(batch_size=BATCH_ROWS), expected_total=devices)


uk_registry_models_csv = counts_csv_asset(
    CSV,
    source=NAME,
    dep="uk_registry_model_counts",
    description="`charger_models_UK.csv` for the downstream service: the latest at "
    "`s3://{PIPELINE_S3_BUCKET}/{PIPELINE_S3_PREFIX}charger_models_UK.csv`, plus a dated copy under "
    "`{day}/`, each in one checksummed PUT.",
    counts=_model_counts,
    metadata=catalog.table(ChargerModelCounts, upstream={"uk_registry_model_counts": COUNTS_COLUMNS}),
)
