"""eConnect assets: raw pages → stations → counts and pivot → the Excel report."""

import json
from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetOut,
    MaterializeResult,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)

from pipeline.orchestration.partitions import REUSED, must_fetch
from pipeline.resources.lake import location, writing
from pipeline.resources.metadata import table_metadata
from pipeline.resources.storage import DataDir
from pipeline.resources.tables import columns_in
from pipeline.sources import catalog
from pipeline.sources.catalog import columns, record_schema, rejects_from
from pipeline.sources.contract import Rejects, column_schema, frame_type
from pipeline.sources.declare import snapshot_asset, snapshot_multi_asset, tags
from pipeline.sources.econnect import NAME, transforms
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.econnect.raw import page_name, read_pages
from pipeline.sources.econnect.report import write_station_report
from pipeline.sources.econnect.schema import (
    REPORT_FIELDS,
    StateByModel,
    StationCounts,
    StationRecord,
    Stations,
)
from pipeline.sources.quality import (
    QualitySettings,
    cleaning_check_specs,
    reject_share_check,
    totals_check,
    unique_ids_check,
)

# Metadata key on econnect_station_pages that the change sensor compares the live API against.
UPSTREAM_FINGERPRINT = "upstream_fingerprint"


def sums_to_stations(asset: str, description: str) -> AssetCheckSpec:
    return AssetCheckSpec("sums_to_stations", asset=asset, blocking=True, description=description)


# What the catalog shows: each table's columns, and the upstream columns each is computed from.
RAW_FIELDS = record_schema(StationRecord, record="station in a page's `content`")
FROM_PAGES = {"econnect_station_pages": columns(RAW_FIELDS)}
FROM_STATIONS = {"econnect_stations": columns(Stations)}


@snapshot_asset(
    source=NAME, layer="raw", kinds={"api", "json"}, pool=NAME, metadata=catalog.table(RAW_FIELDS)
)
def econnect_station_pages(
    context: AssetExecutionContext, econnect: EConnectApi, data_dir: DataDir
) -> MaterializeResult:
    """Every page of the operator's charging stations exactly as the eConnect Masterdata API returned it.

    One JSON file per page under `{PIPELINE_DATA_DIR}/raw/econnect/{day}/`, written as each page
    arrives; the day's snapshot is the new one only once the last (empty) page has been read.
    """
    zone = data_dir.raw(NAME)
    snapshot = zone.snapshot(context.partition_key)
    if not must_fetch(context.partition_key, stored=snapshot.complete, source="eConnect"):
        stored = [len(json.loads(body)["content"]) for _, body in read_pages(snapshot)]
        context.log.info(f"{context.partition_key} is a past day: reusing its stored snapshot, no HTTP call")
        return MaterializeResult(
            metadata={
                "pages": len(stored),
                "records": sum(stored),
                REUSED: True,
                "path": location(snapshot.folder),
            }
        )
    client = econnect.http_client()
    pages_written = records = 0
    fingerprint = ""
    with zone.writing(context.partition_key, concurrency=econnect.max_concurrency) as writer:
        for page in econnect.iter_pages(client):
            writer.write_bytes(page_name(page.number), page.body)
            if page.number == 0:  # what the change sensor compares the live API with
                fingerprint = page.fingerprint()
            pages_written += 1
            records += page.records
    context.log.info(f"Fetched {pages_written} pages ({records} records) from {econnect.stations_url()}")
    return MaterializeResult(
        metadata={
            "pages": pages_written,
            "records": records,
            **client.stats.as_metadata(),
            UPSTREAM_FINGERPRINT: fingerprint,
            "path": location(snapshot.folder),
        }
    )


@snapshot_multi_asset(
    source=NAME,
    deps=[econnect_station_pages],
    outs={
        "econnect_stations": AssetOut(
            dagster_type=frame_type(Stations),
            kinds={"parquet"},
            tags=tags(NAME, "clean"),
            metadata=catalog.table(
                Stations, upstream=FROM_PAGES, computed_from={"installDate_raw": ["installDate"], "page": []}
            ),
            description="One row per charging station (deduplicated by `id`), install date parsed to UTC.",
        ),
        "econnect_station_rejects": AssetOut(
            dagster_type=frame_type(Rejects),
            kinds={"parquet"},
            tags=tags(NAME, "clean"),
            metadata=catalog.table(Rejects, upstream=FROM_PAGES, computed_from=rejects_from(RAW_FIELDS)),
            description="Station records that broke the contract: page and item, reason, the record.",
        ),
    },
    check_specs=cleaning_check_specs("econnect_stations", "econnect_station_rejects"),
)
def econnect_clean_stations(
    context: AssetExecutionContext, data_dir: DataDir, quality: QualitySettings
) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    """Validate the stored pages against the station contract; keep each station id once."""
    pages = read_pages(data_dir.raw(NAME).snapshot(context.partition_key))
    clean = transforms.stations_from_pages(pages)
    stations, rejects = clean.table, clean.rejects
    if len(rejects):
        context.log.warning(
            f"{len(rejects)} station records broke the contract; first: {rejects.iloc[0].to_dict()}"
        )
    unparseable = int((stations["installDate"].isna() & (stations["installDate_raw"] != "")).sum())
    yield Output(
        stations,
        output_name="econnect_stations",
        metadata={
            **table_metadata(stations),
            "records_received": clean.records,
            "duplicate_records": clean.duplicates,
            "unparseable_install_dates": unparseable,
        },
    )
    yield Output(rejects, output_name="econnect_station_rejects", metadata=table_metadata(rejects))
    yield unique_ids_check("econnect_stations", stations["id"])
    yield reject_share_check(
        "econnect_station_rejects",
        rejected=len(rejects),
        received=clean.records,
        limit=quality.max_reject_share,
    )


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    dagster_type=frame_type(StationCounts),
    kinds={"parquet"},
    metadata=catalog.table(
        StationCounts,
        upstream=FROM_STATIONS,
        computed_from={"field": [], "value": list(REPORT_FIELDS), "count": ["id"]},
    ),
    check_specs=[sums_to_stations("econnect_station_counts", "Each field's counts add up to the stations.")],
    ins={"econnect_stations": columns_in(*REPORT_FIELDS)},
)
def econnect_station_counts(
    econnect_stations: pd.DataFrame,
) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    """Stations per value of `modelInfo`, `installDate`, `type` and `state` (a missing value counts as '')."""
    counts = transforms.station_counts(econnect_stations)
    yield Output(counts, metadata=table_metadata(counts))
    totals = {field: int(counts.loc[counts["field"] == field, "count"].sum()) for field in REPORT_FIELDS}
    yield totals_check("econnect_station_counts", "sums_to_stations", totals, len(econnect_stations))


@snapshot_asset(
    source=NAME,
    layer="aggregate",
    kinds={"parquet"},
    metadata=catalog.table(StateByModel, upstream=FROM_STATIONS),
    check_specs=[sums_to_stations("econnect_state_by_model", "The pivot's cells add up to the stations.")],
    ins={"econnect_stations": columns_in("modelInfo", "state")},
)
def econnect_state_by_model(
    econnect_stations: pd.DataFrame,
) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    """Number of stations per charger model (rows) and lifecycle state (columns)."""
    pivot = transforms.state_by_model(econnect_stations)
    # One column per state found: the columns are known only now, so the schema is the materialisation's.
    states = [str(state) for state in pivot.columns]
    state_columns = [TableColumn(s, "int", f"Stations in state '{s}' ('' = none).") for s in states]
    schema = TableSchema(columns=[*column_schema(StateByModel).columns, *state_columns])
    lineage = {state: ["state", "id"] for state in states}
    yield Output(
        pivot,
        metadata={
            **table_metadata(pivot, index=True),
            **catalog.table(schema, upstream=FROM_STATIONS, computed_from=lineage),
        },
    )
    total = int(pivot.to_numpy().sum())
    yield totals_check(
        "econnect_state_by_model", "sums_to_stations", {"pivot": total}, len(econnect_stations)
    )


@snapshot_asset(source=NAME, layer="report", kinds={"excel"})
def econnect_station_report(
    context: AssetExecutionContext,
    data_dir: DataDir,
    econnect_stations: pd.DataFrame,
    econnect_station_counts: pd.DataFrame,
    econnect_state_by_model: pd.DataFrame,
    econnect_state_history: pd.DataFrame,
    econnect_model_state_changes: pd.DataFrame,
) -> MaterializeResult:
    """The stations workbook: `values`, one `<field>_count` sheet per field, `Status Pivot`, then
    `State History` (stations per state per stored day) and `Week over Week` (state changes per model).

    Written to `{PIPELINE_DATA_DIR}/reports/{day}/econnect_stations_{day}.xlsx`, replacing that day's
    file atomically. A text longer than an Excel cell holds (32,767 characters) is cut with a visible
    `… [truncated: N characters]` marker, its row kept; `truncated_cells` counts them.
    """
    path = data_dir.report_path("econnect_stations", context.partition_key, ".xlsx")
    with writing(path) as tmp:
        written = write_station_report(
            tmp,
            econnect_stations,
            econnect_station_counts,
            econnect_state_by_model,
            state_history=econnect_state_history,
            model_changes=econnect_model_state_changes,
        )
    if written.truncated_cells:
        context.log.warning(f"{written.truncated_cells} cells held more text than Excel allows; cut, marked")
    return MaterializeResult(
        metadata={
            "path": location(path),
            "bytes": path.stat().st_size,
            "sheets": MetadataValue.json(written.rows_per_sheet),
            "truncated_cells": written.truncated_cells,
        }
    )
