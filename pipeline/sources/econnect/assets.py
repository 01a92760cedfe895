"""eConnect assets: raw pages → stations → counts and pivot → the Excel report."""

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, Output, asset

from pipeline.orchestration.partitions import daily_snapshots
from pipeline.resources.metadata import table_metadata
from pipeline.resources.storage import DataDir, atomic_directory, atomic_path
from pipeline.sources.contract import frame_type
from pipeline.sources.econnect import transforms
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.econnect.report import write_station_report
from pipeline.sources.econnect.schema import StationCounts, Stations

GROUP = "econnect"
RAW_SOURCE = "econnect"


def page_file(directory: Path, number: int) -> Path:
    return directory / f"page-{number:06d}.json"


def read_raw_pages(directory: Path) -> Iterator[tuple[int, list[object]]]:
    """`(page number, content)` from a stored snapshot, in page order, one page in memory at a time."""
    if not directory.is_dir():
        raise FileNotFoundError(
            f"No raw eConnect snapshot at {directory}. Materialise econnect_station_pages for this "
            "partition first."
        )
    for path in sorted(directory.glob("page-*.json")):
        number = int(path.stem.removeprefix("page-"))
        yield number, json.loads(path.read_bytes())["content"]


@asset(group_name=GROUP, partitions_def=daily_snapshots, kinds={"api", "json"})
def econnect_station_pages(
    context: AssetExecutionContext, econnect_api: EConnectApi, data_dir: DataDir
) -> MaterializeResult:
    """Every page of the operator's charging stations exactly as the eConnect Masterdata API returned it.

    One JSON file per page under `{PIPELINE_DATA_DIR}/raw/econnect/{day}/`, written as each page
    arrives and swapped into place only when the last (empty) page has been read.
    """
    target = data_dir.raw_dir(RAW_SOURCE, context.partition_key)
    client = econnect_api.http_client()
    pages = records = 0
    with atomic_directory(target) as staging:
        for page in econnect_api.iter_pages(client):
            page_file(staging, page.number).write_bytes(page.body)
            pages += 1
            records += len(page.content)
    context.log.info(f"Fetched {pages} pages ({records} records) from {econnect_api.stations_url()}")
    return MaterializeResult(
        metadata={
            "pages": pages,
            "records": records,
            **client.stats.as_metadata(),
            "path": MetadataValue.path(str(target)),
        }
    )


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    deps=[econnect_station_pages],
    dagster_type=frame_type(Stations),
    kinds={"pandas"},
)
def econnect_stations(context: AssetExecutionContext, data_dir: DataDir) -> Output[pd.DataFrame]:
    """One row per charging station (deduplicated by `id`), with the install date parsed to UTC."""
    pages = read_raw_pages(data_dir.raw_dir(RAW_SOURCE, context.partition_key))
    stations, rejects = transforms.stations_from_pages(pages)
    if len(rejects):
        context.log.warning(
            f"{len(rejects)} records broke the station contract; first: {rejects.iloc[0].to_dict()}"
        )
    return Output(
        stations,
        metadata={
            **table_metadata(stations),
            "rejected_records": len(rejects),
            "unparseable_install_dates": int(
                (stations["installDate"].isna() & (stations["installDate_raw"] != "")).sum()
            ),
        },
    )


@asset(
    group_name=GROUP,
    partitions_def=daily_snapshots,
    dagster_type=frame_type(StationCounts),
    kinds={"pandas"},
)
def econnect_station_counts(econnect_stations: pd.DataFrame) -> Output[pd.DataFrame]:
    """Stations per value of `modelInfo`, `installDate`, `type` and `state` (a missing value counts as '')."""
    counts = transforms.station_counts(econnect_stations)
    return Output(counts, metadata=table_metadata(counts))


@asset(group_name=GROUP, partitions_def=daily_snapshots, kinds={"pandas"})
def econnect_state_by_model(econnect_stations: pd.DataFrame) -> Output[pd.DataFrame]:
    """Number of stations per charger model (rows) and lifecycle state (columns)."""
    pivot = transforms.state_by_model(econnect_stations)
    return Output(pivot, metadata=table_metadata(pivot, index=True))


@asset(group_name=GROUP, partitions_def=daily_snapshots, kinds={"excel"})
def econnect_station_report(
    context: AssetExecutionContext,
    data_dir: DataDir,
    econnect_stations: pd.DataFrame,
    econnect_station_counts: pd.DataFrame,
    econnect_state_by_model: pd.DataFrame,
) -> MaterializeResult:
    """The stations workbook: `values`, one `<field>_count` sheet per field, and `Status Pivot`.

    Written to `{PIPELINE_DATA_DIR}/reports/{day}/econnect_stations_{day}.xlsx`, replacing that day's
    file atomically.
    """
    path = data_dir.report_path("econnect_stations", context.partition_key, ".xlsx")
    with atomic_path(path) as tmp:
        rows = write_station_report(tmp, econnect_stations, econnect_station_counts, econnect_state_by_model)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "bytes": path.stat().st_size,
            "sheets": MetadataValue.json(rows),
        }
    )
