"""The stations workbook. Every cell is written with an explicit type, so no data string becomes a formula.

xlsxwriter is used directly (not through pandas) with formula, URL and number conversion switched off
and `constant_memory`, so rows stream to disk. A table longer than Excel's sheet limit continues on
`values (2)`, `values (3)`, ... instead of losing rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from pipeline.sources.econnect.schema import REPORT_FIELDS
from pipeline.sources.econnect.transforms import state_history_wide

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
        writer.table(VALUES_SHEET, stations[VALUES_COLUMNS])
        for field in REPORT_FIELDS:
            rows = counts.loc[counts["field"] == field, ["value", "count"]].rename(columns={"value": field})
            if field == "installDate":
                rows[field] = pd.to_datetime(rows[field].replace("", None), utc=True, format="ISO8601")
            writer.table(f"{field}_count", rows)
        writer.table(PIVOT_SHEET, pivot.rename_axis(str(pivot.index.name or "modelInfo")).reset_index())
        writer.table(HISTORY_SHEET, state_history_wide(state_history).reset_index())
        writer.table(CHANGES_SHEET, model_changes)
    finally:
        workbook.close()
    return writer.rows_per_sheet


EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def _cell_values(column: pd.Series) -> tuple[list[object], str]:
    """A column as plain Python values and how to write them: `string`, `number` or `date`.

    Dates become Excel serial numbers (days since 1899-12-30, UTC) in one vectorised step; writing
    them cell by cell as datetimes is the slowest part of a large sheet. Missing values become None.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype):
        naive = column.dt.tz_convert("UTC").dt.tz_localize(None) if column.dt.tz else column
        serial = (naive - EXCEL_EPOCH) / pd.Timedelta(days=1)
        return _none_for_missing(serial), "date"
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return _none_for_missing(column), "number"
    return [None if value is None or value == "" else str(value) for value in column.tolist()], "string"


def _none_for_missing(values: pd.Series) -> list[object]:
    return [None if pd.isna(value) else value for value in values.tolist()]


class _SheetWriter:
    """Writes a frame to a sheet with explicit cell types, continuing on `name (2)`, `name (3)`, ... past
    the row limit. Strings are only ever written as strings: no data string can become a formula."""

    def __init__(self, workbook: xlsxwriter.Workbook, max_rows: int) -> None:
        if max_rows < 2:
            raise ValueError("a sheet must hold a header and at least one row")
        self._workbook = workbook
        self._data_rows = max_rows - 1
        self._date = workbook.add_format({"num_format": DATE_FORMAT})
        self._bold = workbook.add_format({"bold": True})
        self.rows_per_sheet: dict[str, int] = {}

    def table(self, name: str, frame: pd.DataFrame) -> None:
        header = [str(column) for column in frame.columns]
        columns = [_cell_values(frame.iloc[:, index]) for index in range(frame.shape[1])]
        total = len(frame)
        part, start = 1, 0
        while True:
            sheet_name = name if part == 1 else f"{name} ({part})"
            stop = min(start + self._data_rows, total)
            self._rows(
                self._new_sheet(sheet_name, header), [values[start:stop] for values, _ in columns], columns
            )
            self.rows_per_sheet[sheet_name] = stop - start
            if stop >= total:
                return
            part, start = part + 1, stop

    def _rows(
        self, sheet: Worksheet, slices: list[list[object]], columns: list[tuple[list[object], str]]
    ) -> None:
        """Row by row (constant_memory streams each finished row to disk), one typed call per cell."""
        writers = [
            (
                col,
                sheet.write_string if kind == "string" else sheet.write_number,
                self._date if kind == "date" else None,
            )
            for col, (_, kind) in enumerate(columns)
        ]
        for row, values in enumerate(zip(*slices, strict=True), start=1):
            for (col, write, cell_format), value in zip(writers, values, strict=True):
                if value is not None:
                    write(row, col, value, cell_format)

    def _new_sheet(self, name: str, header: Sequence[str]) -> Worksheet:
        sheet = self._workbook.add_worksheet(name)
        for col, title in enumerate(header):
            if title:  # the pivot's column for stations without a state has a blank header, like its value
                sheet.write_string(0, col, title, self._bold)
        sheet.freeze_panes(1, 0)
        return sheet
