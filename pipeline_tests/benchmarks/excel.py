"""The workbook writer alone: ``write_station_report`` against pandas + openpyxl on the same frames.

Both write the same sheets from the same frames (the pipeline's own transforms of synthetic stations),
in this process, one after the other; only the writing is timed. Each file is then read back with
openpyxl in read-only mode and its ``values`` rows counted, so a fast writer that drops rows fails
instead of winning.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import openpyxl
import pandas as pd

from pipeline.orchestration.partitions import today_key
from pipeline.sandbox import make_stations
from pipeline.sources.econnect import transforms
from pipeline.sources.econnect.report import VALUES_COLUMNS, VALUES_SHEET, write_station_report
from pipeline.sources.econnect.schema import REPORT_FIELDS


@dataclass(frozen=True)
class Frames:
    """Everything ``write_station_report`` takes, as the assets would hand it over."""

    stations: pd.DataFrame
    counts: pd.DataFrame
    pivot: pd.DataFrame
    history: pd.DataFrame
    changes: pd.DataFrame


@dataclass(frozen=True)
class WriterResult:
    seconds: float
    values_rows: int  # data rows read back from `values`, `values (2)`, ...


def station_frames(count: int) -> Frames:
    """The pipeline's frames for ``count`` synthetic stations, paged 100 at a time like the API."""
    records = make_stations(count)
    pages = ((number, records[start : start + 100]) for number, start in enumerate(range(0, count, 100)))
    stations = transforms.stations_from_pages(pages).table
    counts = transforms.station_counts(stations)
    return Frames(
        stations=stations,
        counts=counts,
        pivot=transforms.state_by_model(stations),
        history=transforms.state_history({today_key(): counts}),
        changes=transforms.model_state_changes(stations.iloc[0:0], stations.iloc[0:0]),
    )


def pipeline_writer(frames: Frames, path: Path) -> WriterResult:
    start = time.perf_counter()
    write_station_report(
        path,
        frames.stations,
        frames.counts,
        frames.pivot,
        state_history=frames.history,
        model_changes=frames.changes,
    )
    return WriterResult(time.perf_counter() - start, values_rows(path))


def pandas_openpyxl_writer(frames: Frames, path: Path) -> WriterResult:
    """The same sheets through ``DataFrame.to_excel`` (Excel takes no time zones, so UTC made naive)."""
    start = time.perf_counter()
    values = frames.stations[VALUES_COLUMNS].assign(
        installDate=frames.stations["installDate"].dt.tz_convert("UTC").dt.tz_localize(None)
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        values.to_excel(writer, sheet_name=VALUES_SHEET, index=False)
        for field in REPORT_FIELDS:
            counts = frames.counts.loc[frames.counts["field"] == field, ["value", "count"]]
            counts.rename(columns={"value": field}).to_excel(writer, sheet_name=f"{field}_count", index=False)
        frames.pivot.to_excel(writer, sheet_name="Status Pivot")
        transforms.state_history_wide(frames.history).to_excel(writer, sheet_name="State History")
        frames.changes.to_excel(writer, sheet_name="Week over Week", index=False)
    return WriterResult(time.perf_counter() - start, values_rows(path))


def values_rows(path: Path) -> int:
    """Data rows (header excluded) on the ``values`` sheet and its continuations, read back from disk."""
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheets = [name for name in workbook.sheetnames if name.split(" (")[0] == VALUES_SHEET]
        return sum(
            sum(1 for _ in islice(workbook[name].iter_rows(values_only=True), 1, None)) for name in sheets
        )
    finally:
        workbook.close()
