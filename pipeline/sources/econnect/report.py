"""The stations workbook, written by rust_xlsxwriter (through `rvgsrust-xlsxwriter`) from typed columns.

Every column becomes one Arrow array of one type before anything is written: text is written as text
(never as a formula, a number or a link, on any sheet, header cells included), instants as date cells,
counts as numbers with a whole-number format. Rows stream to disk (`constant_memory`). A table longer
than Excel's sheet limit continues on `values (2)`, `values (3)`, ... instead of losing rows. A text
longer than a cell can hold is cut visibly, never dropped with its row: it ends in
`… [truncated: 40,000 characters]` (its full length), and the cut cells are counted.

Each table sheet has its header row frozen, an autofilter and column widths fitted to the content
(capped); `Status Pivot` also has a native stacked column chart of stations per model, by state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import rvgsrust_xlsxwriter as rx

from pipeline.sources.econnect.schema import REPORT_FIELDS
from pipeline.sources.econnect.transforms import state_history_wide

EXCEL_MAX_ROWS = 1_048_576  # including the header row
EXCEL_MAX_CHARS = 32_767  # per cell, in UTF-16 code units (an emoji takes two)
PIVOT_SHEET = "Status Pivot"
HISTORY_SHEET = "State History"
CHANGES_SHEET = "Week over Week"
VALUES_SHEET = "values"
VALUES_COLUMNS = ["id", "modelInfo", "installDate", "installDate_raw", "type", "state"]
NO_STATE = "(no state)"  # header of the pivot's and the history's column for stations without a state
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
DAY_FORMAT = "yyyy-mm-dd"
COUNT_FORMAT = "#,##0"
MAX_COLUMN_WIDTH = 60  # characters; longer values wrap out of sight instead of widening the column
MAX_CHART_SERIES = 255  # Excel's limit per chart


@dataclass(frozen=True)
class WorkbookSummary:
    """What `write_station_report` wrote: data rows per sheet (headers not counted), and how many cells
    held a text too long for Excel and were cut with a visible marker."""

    rows_per_sheet: dict[str, int]
    truncated_cells: int


def write_station_report(
    path: Path,
    stations: pd.DataFrame,
    counts: pd.DataFrame,
    pivot: pd.DataFrame,
    *,
    state_history: pd.DataFrame,
    model_changes: pd.DataFrame,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
) -> WorkbookSummary:
    """Write the workbook to `path`.

    `state_history` is `transforms.state_history` (long); it is written one row per day, the day a
    date cell. `max_rows_per_sheet` (header included) is Excel's limit unless a test wants it small.
    """
    if max_rows_per_sheet < 2:
        raise ValueError("a sheet must hold a header and at least one row")
    workbook = rx.Workbook()
    writer = _SheetWriter(workbook, max_rows_per_sheet)
    writer.table(VALUES_SHEET, stations[VALUES_COLUMNS])
    for field in REPORT_FIELDS:
        writer.table(f"{field}_count", _field_counts(counts, field))
    writer.table(PIVOT_SHEET, _pivot_table(pivot), chart=True)
    writer.table(HISTORY_SHEET, _history_table(state_history))
    writer.table(CHANGES_SHEET, model_changes)
    workbook.close(str(path))
    return WorkbookSummary(writer.rows_per_sheet, writer.truncated_cells)


def _field_counts(counts: pd.DataFrame, field: str) -> pd.DataFrame:
    rows = counts.loc[counts["field"] == field, ["value", "count"]].rename(columns={"value": field})
    if field == "installDate":  # ISO 8601 text in the counts; the sheet shows date cells
        rows[field] = _instants(rows[field])
    return rows


def _instants(iso: pd.Series) -> pd.Series:
    """ISO 8601 instants (as `transforms.iso_instants` writes them; "" for none) as UTC datetimes.

    Arrow's parser reads the counts' `…Z` form several times faster than pandas; anything it refuses
    (a count stored in another form) goes to pandas, which reads any ISO 8601."""
    text = pa.array(iso, type=pa.string(), from_pandas=True)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    try:
        parsed = text.cast(pa.timestamp("ns", tz="UTC")).to_pandas()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pd.to_datetime(pd.Series(text.to_pandas()), utc=True, format="ISO8601")
    return parsed.set_axis(iso.index).rename(iso.name)


def _pivot_table(pivot: pd.DataFrame) -> pd.DataFrame:
    named = pivot.rename(columns={"": NO_STATE}).rename_axis(str(pivot.index.name or "modelInfo"))
    return named.reset_index(allow_duplicates=True)


def _history_table(state_history: pd.DataFrame) -> pd.DataFrame:
    wide = state_history_wide(state_history).rename(columns={"": NO_STATE}).reset_index(allow_duplicates=True)
    days = pd.to_datetime(wide.iloc[:, 0], format="%Y-%m-%d")
    return wide.assign(**{str(wide.columns[0]): pd.Series(days.dt.date, index=wide.index, dtype=object)})


@dataclass(frozen=True)
class _Column:
    """One column, typed once: its header, its values as one Arrow array, its number format and width."""

    header: str
    values: pa.Array
    num_format: str | None
    width: float


def _typed_values(column: pd.Series) -> pa.Array:
    """The column as one Arrow array: instants as naive UTC timestamps (Excel has no time zones), days as
    dates, numbers as numbers, anything else as text ('' and missing values leave the cell empty)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    dtype = column.dtype
    if pd.api.types.is_datetime64_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ):
        return pa.array(column, from_pandas=True)
    try:
        values = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects
        return _as_text(column)
    if pa.types.is_date32(values.type) or pa.types.is_string(values.type):
        return values
    if pa.types.is_large_string(values.type) or pa.types.is_null(values.type):
        return values.cast(pa.string())
    return _as_text(column)  # booleans and other objects: shown as their text


def _as_text(column: pd.Series) -> pa.Array:
    return pa.array(column.map(str, na_action="ignore"), type=pa.string(), from_pandas=True)


def _number_format(values: pa.Array) -> str | None:
    if pa.types.is_timestamp(values.type):
        return DATE_FORMAT
    if pa.types.is_date32(values.type):
        return DAY_FORMAT
    if pa.types.is_integer(values.type):
        return COUNT_FORMAT
    return None


def _content_width(values: pa.Array) -> int:
    """Characters the widest value takes as Excel shows it."""
    if len(values) == 0 or values.null_count == len(values):
        return 0
    if pa.types.is_timestamp(values.type):
        return len(DATE_FORMAT)
    if pa.types.is_date32(values.type):
        return len(DAY_FORMAT)
    if pa.types.is_integer(values.type):
        low, high = pc.min_max(values).values()
        return max(len(f"{low.as_py():,}"), len(f"{high.as_py():,}"))
    if pa.types.is_string(values.type):
        return int(pc.max(pc.utf8_length(values)).as_py() or 0)
    return max(len(str(value)) for value in values.to_pylist())


def fit_cell_text(text: str) -> str:
    """`text` if a cell can hold it, else its start and a visible marker with its full length, in at
    most `EXCEL_MAX_CHARS` UTF-16 code units (Excel's unit; a character beyond the BMP takes two)."""
    encoded = text.encode("utf-16-le")
    if len(encoded) // 2 <= EXCEL_MAX_CHARS:
        return text
    marker = f"… [truncated: {len(text):,} characters]"  # BMP only: one code unit per character
    keep = encoded[: 2 * (EXCEL_MAX_CHARS - len(marker))]
    return keep.decode("utf-16-le", errors="ignore") + marker  # a half-cut surrogate pair is dropped


def _fit_texts(values: pa.Array) -> tuple[pa.Array, int]:
    """`values` with every too-long text cut by `fit_cell_text`, and how many were cut. Only a text of
    more than half the limit in code points can be too long, so the rest are never looked at."""
    if not pa.types.is_string(values.type):
        return values, 0
    suspects = pc.indices_nonzero(
        pc.fill_null(pc.greater(pc.utf8_length(values), EXCEL_MAX_CHARS // 2), False)
    )
    if len(suspects) == 0:
        return values, 0
    texts = values.to_pylist()
    cut = 0
    for index in suspects.to_pylist():
        fitted = fit_cell_text(texts[index])
        cut += fitted != texts[index]
        texts[index] = fitted
    return pa.array(texts, type=pa.string()), cut


class _SheetWriter:
    """Writes a frame to a sheet from typed Arrow columns, continuing on `name (2)`, `name (3)`, ... past
    the row limit. Strings are only ever written as strings: no data string can become a formula."""

    def __init__(self, workbook: rx.Workbook, max_rows: int) -> None:
        self._workbook = workbook
        self._data_rows = max_rows - 1
        self._bold = workbook.add_format()
        self._bold.set_bold()
        self._formats: dict[str, rx.Format] = {}
        self.rows_per_sheet: dict[str, int] = {}
        self.truncated_cells = 0

    def table(self, name: str, frame: pd.DataFrame, *, chart: bool = False) -> None:
        columns = self._columns(frame)
        total = len(frame)
        part, start = 1, 0
        while True:
            sheet_name = name if part == 1 else f"{name} ({part})"
            stop = min(start + self._data_rows, total)
            # A chart's cached values are read from the cells when the file is closed: a sheet with a
            # chart (small: models x states) is kept in memory, the others stream to disk.
            sheet = self._new_sheet(sheet_name, columns, stop - start, streamed=not chart)
            self._rows(sheet, [column.values.slice(start, stop - start) for column in columns], columns)
            if chart and part == 1:
                _insert_chart(sheet, sheet_name, rows=stop - start, columns=len(columns))
            self.rows_per_sheet[sheet_name] = stop - start
            if stop >= total:
                return
            part, start = part + 1, stop

    def _columns(self, frame: pd.DataFrame) -> list[_Column]:
        columns = []
        for index in range(frame.shape[1]):
            header = fit_cell_text(str(frame.columns[index]))
            values, cut = _fit_texts(_typed_values(frame.iloc[:, index]))
            self.truncated_cells += cut + (header != str(frame.columns[index]))
            width = min(MAX_COLUMN_WIDTH, max(len(header) + 3, _content_width(values)) + 1)  # + filter button
            columns.append(_Column(header, values, _number_format(values), width))
        return columns

    def _new_sheet(self, name: str, columns: list[_Column], rows: int, *, streamed: bool) -> rx.Worksheet:
        sheet = self._workbook.add_worksheet(name, constant_memory=streamed)
        for col, column in enumerate(columns):
            if column.header:
                sheet.write(0, col, column.header, self._bold)
            sheet.set_column_width(col, column.width)
        if columns:
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, rows, len(columns) - 1)
        return sheet

    def _rows(self, sheet: rx.Worksheet, slices: list[pa.Array], columns: list[_Column]) -> None:
        """All rows in one call: rust_xlsxwriter writes each Arrow column by its type, row by row."""
        if not slices or len(slices[0]) == 0:
            return
        names = [str(col) for col in range(len(slices))]
        formats = {
            names[col]: self._format(column.num_format)
            for col, column in enumerate(columns)
            if column.num_format is not None
        }
        sheet.write_dataframe(1, 0, pa.table(slices, names=names), write_header=False, column_formats=formats)

    def _format(self, num_format: str) -> rx.Format:
        if num_format not in self._formats:
            self._formats[num_format] = self._workbook.add_format()
            self._formats[num_format].set_num_format(num_format)
        return self._formats[num_format]


def _insert_chart(sheet: rx.Worksheet, sheet_name: str, *, rows: int, columns: int) -> None:
    """Stations per model (the first column), one stacked series per state (the other columns), right
    of the table. Series names point at the header cells, so a state is never read as a formula."""
    if rows == 0 or columns < 2:
        return
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    categories = f"={quoted}!$A$2:$A${rows + 1}"
    chart = rx.Chart("column_stacked")
    for col in range(1, min(columns, MAX_CHART_SERIES + 1)):
        letter = _column_letter(col)
        series = rx.ChartSeries()
        series.set_name(f"={quoted}!${letter}$1")
        series.set_categories(categories)
        series.set_values(f"={quoted}!${letter}$2:${letter}${rows + 1}")
        chart.push_series(series)
    chart.set_title_name("Stations per model, by state")
    chart.set_x_axis_name("model")
    chart.set_y_axis_name("stations")
    chart.set_width(min(1600, max(720, 48 * rows)))
    chart.set_height(480)
    sheet.insert_chart(1, columns + 1, chart)


def _column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
