"""The stations workbook. Every cell is written with an explicit type, so no data string becomes a formula.

xlsxwriter is used directly (not through pandas) with formula, URL and number conversion switched off
and `constant_memory`, so rows stream to disk. A table longer than Excel's sheet limit continues on
`values (2)`, `values (3)`, ... instead of losing rows.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from pipeline.sources.econnect.schema import REPORT_FIELDS
from pipeline.sources.econnect.transforms import parse_install_date, state_history_wide

EXCEL_MAX_ROWS = 1_048_576  # including the header row
PIVOT_SHEET = "Status Pivot"
HISTORY_SHEET = "State History"
CHANGES_SHEET = "Week over Week"
VALUES_SHEET = "values"
VALUES_COLUMNS = ["id", "modelInfo", "installDate", "installDate_raw", "type", "state"]
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"


def write_station_report(
    path: Path,
    stations: pd.DataFrame,
    counts: pd.DataFrame,
    pivot: pd.DataFrame,
    *,
    state_history: pd.DataFrame,
    model_changes: pd.DataFrame,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
) -> dict[str, int]:
    """Write the workbook to `path`; return the data rows written per sheet (headers not counted).

    `state_history` is `transforms.state_history` (long); it is written one row per day.
    """
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    writer = _SheetWriter(workbook, max_rows_per_sheet)
    try:
        writer.table(VALUES_SHEET, VALUES_COLUMNS, _values_rows(stations))
        for field in REPORT_FIELDS:
            rows: Iterable[Sequence[object]] = counts.loc[
                counts["field"] == field, ["value", "count"]
            ].itertuples(index=False, name=None)
            if field == "installDate":
                rows = ((parse_install_date(str(value)), count) for value, count in rows)
            writer.table(f"{field}_count", [field, "count"], rows)
        header = [str(pivot.index.name or "modelInfo"), *map(str, pivot.columns)]
        pivot_rows = ((model, *counts_) for model, *counts_ in pivot.itertuples(index=True))
        writer.table(PIVOT_SHEET, header, pivot_rows)
        wide = state_history_wide(state_history)
        writer.table(HISTORY_SHEET, ["day", *map(str, wide.columns)], wide.itertuples(index=True, name=None))
        writer.table(
            CHANGES_SHEET, list(model_changes.columns), model_changes.itertuples(index=False, name=None)
        )
    finally:
        workbook.close()
    return writer.rows_per_sheet


def _values_rows(stations: pd.DataFrame) -> Iterable[Sequence[object]]:
    dates = stations["installDate"].dt.tz_convert("UTC").dt.tz_localize(None).astype(object)
    frame = stations[VALUES_COLUMNS].assign(installDate=dates.where(dates.notna(), None))
    return frame.itertuples(index=False, name=None)


class _SheetWriter:
    """Writes header + rows to a sheet, continuing on `name (2)`, `name (3)`, ... past the row limit."""

    def __init__(self, workbook: xlsxwriter.Workbook, max_rows: int) -> None:
        if max_rows < 2:
            raise ValueError("a sheet must hold a header and at least one row")
        self._workbook = workbook
        self._data_rows = max_rows - 1
        self._date = workbook.add_format({"num_format": DATE_FORMAT})
        self._bold = workbook.add_format({"bold": True})
        self.rows_per_sheet: dict[str, int] = {}

    def table(self, name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        sheet, sheet_name, row_index, part = self._new_sheet(name, header, 1), name, 0, 1
        self.rows_per_sheet[sheet_name] = 0
        for row in rows:
            if row_index == self._data_rows:
                part += 1
                sheet_name = f"{name} ({part})"
                sheet, row_index = self._new_sheet(name, header, part), 0
                self.rows_per_sheet[sheet_name] = 0
            row_index += 1
            for col, value in enumerate(row):
                self._cell(sheet, row_index, col, value)
            self.rows_per_sheet[sheet_name] += 1

    def _new_sheet(self, name: str, header: Sequence[str], part: int) -> Worksheet:
        sheet = self._workbook.add_worksheet(name if part == 1 else f"{name} ({part})")
        for col, title in enumerate(header):
            if title:  # the pivot's column for stations without a state has a blank header, like its value
                sheet.write_string(0, col, title, self._bold)
        sheet.freeze_panes(1, 0)
        return sheet

    def _cell(self, sheet: Worksheet, row: int, col: int, value: object) -> None:
        if value is None or value is pd.NaT or value == "":
            return
        if isinstance(value, str):
            sheet.write_string(row, col, value)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self._date)
        elif isinstance(value, numbers.Real):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, str(value))
