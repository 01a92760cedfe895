from datetime import datetime

import openpyxl
import pyarrow as pa
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape

from pipeline.sources.econnect.report import (
    EXCEL_MAX_CHARS,
    MAX_COLUMN_WIDTH,
    fit_cell_text,
    write_station_report,
)
from pipeline.sources.econnect.transforms import (
    model_state_changes,
    state_by_model,
    state_history,
    station_counts,
    stations_from_pages,
)

FORMULA_LIKE = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,1)", "@cmd", "-2+3"]
SHEETS = [
    "values",
    "modelInfo_count",
    "installDate_count",
    "type_count",
    "state_count",
    "Status Pivot",
    "State History",
    "Week over Week",
]


def _write(tmp_path, records, **kwargs):
    stations = stations_from_pages([(0, records)]).table
    path = tmp_path / "report.xlsx"
    counts = station_counts(stations)
    history = state_history({"2026-11-18": counts.assign(count=counts["count"] * 2), "2026-11-25": counts})
    changes = model_state_changes(stations.iloc[:2].assign(state="PLANNED"), stations)
    written = write_station_report(
        path,
        stations,
        counts,
        state_by_model(stations),
        state_history=history,
        model_changes=changes,
        **kwargs,
    )
    return path, written


def _records():
    records = [
        {
            "id": "1",
            "modelInfo": "Alfen",
            "installDate": "2021-03-04T10:15:00+02:00",
            "type": "AC",
            "state": "OK",
        },
        {"id": "2", "modelInfo": "ABB", "installDate": "bad date", "type": "DC", "state": "PLANNED"},
        {"id": "3", "modelInfo": None, "installDate": None, "type": None, "state": None},
    ]
    records += [
        {"id": f"f{i}", "modelInfo": text, "installDate": "2020-01-01", "type": text, "state": "OK"}
        for i, text in enumerate(FORMULA_LIKE)
    ]
    return records


def _cells(sheet):
    return [cell for row in sheet.iter_rows() for cell in row]


def test_workbook_has_exactly_the_report_sheets(tmp_path):
    path, written = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == SHEETS
    assert written.rows_per_sheet["values"] == 7 and written.truncated_cells == 0
    for field in ("modelInfo", "installDate", "type", "state"):
        sheet = workbook[f"{field}_count"]
        assert [c.value for c in sheet[1]] == [field, "count"]
        assert sum(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == 7


def test_values_sheet_cells_are_typed_and_keep_the_empty_value(tmp_path):
    path, _ = _write(tmp_path, _records())
    sheet = openpyxl.load_workbook(path)["values"]
    assert [c.value for c in sheet[1]] == [
        "id",
        "modelInfo",
        "installDate",
        "installDate_raw",
        "type",
        "state",
    ]
    first, second, third = (list(r) for r in sheet.iter_rows(min_row=2, max_row=4))
    assert first[2].value == datetime(2021, 3, 4, 8, 15) and first[2].is_date
    assert first[2].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first[3].value == "2021-03-04T10:15:00+02:00" and first[3].data_type == "s"
    assert second[2].value is None and second[3].value == "bad date"
    assert [c.value for c in third] == ["3", None, None, None, None, None]  # no "(no state)" here


def test_install_dates_are_date_cells_on_their_count_sheet(tmp_path):
    path, _ = _write(tmp_path, _records())
    rows = list(openpyxl.load_workbook(path)["installDate_count"].iter_rows(min_row=2))
    dates = {row[0].value: row[1].value for row in rows if row[0].value is not None}
    assert dates == {datetime(2020, 1, 1): 4, datetime(2021, 3, 4, 8, 15): 1}
    assert all(
        row[0].is_date and row[0].number_format == "yyyy-mm-dd hh:mm:ss" for row in rows if row[0].value
    )
    assert [row[1].value for row in rows if row[0].value is None] == [2]  # no date, or an unparseable one


def test_count_sheet_dates_are_the_counted_instants_in_any_iso_form_the_counts_hold(tmp_path):
    """The counts hold `…Z` text (Arrow parses it); a count stored in a form Arrow refuses (ISO 8601's
    basic format) takes pandas."""
    records = [
        {"id": "1", "installDate": "1965-07-01T12:00:00+01:00"},  # before 1970
        {"id": "2", "installDate": "2024-02-29T23:59:59.5Z"},  # a fraction of a second
        {"id": "3", "installDate": "1965-07-01T11:00:00Z"},  # the same instant as the first
    ]
    stations = stations_from_pages([(0, records)]).table
    z_form = station_counts(stations)
    dates = z_form["field"] == "installDate"
    basic_form = z_form.assign(
        value=z_form["value"].where(~dates, z_form["value"].str.replace("[-:]", "", regex=True))
    )
    assert "1965-07-01T11:00:00Z" in set(z_form["value"])
    assert "19650701T110000Z" in set(basic_form["value"])
    with pytest.raises(pa.ArrowInvalid):  # so the second pass really goes through pandas
        pa.array(basic_form.loc[dates, "value"]).cast(pa.timestamp("ns", tz="UTC"))
    for counts in (z_form, basic_form):
        path = tmp_path / "report.xlsx"
        write_station_report(
            path,
            stations,
            counts,
            state_by_model(stations),
            state_history=state_history({"2026-11-25": counts}),
            model_changes=model_state_changes(stations.iloc[0:0], stations.iloc[0:0]),
        )
        rows = list(openpyxl.load_workbook(path)["installDate_count"].iter_rows(min_row=2))
        assert [(row[0].value, row[1].value) for row in rows] == [
            (datetime(1965, 7, 1, 11), 2),
            (datetime(2024, 2, 29, 23, 59, 59, 500000), 1),
        ]
        assert all(row[0].is_date and row[1].data_type == "n" for row in rows)


def test_formula_like_strings_stay_strings_on_every_sheet(tmp_path):
    """In every field, so they also become count values, pivot rows and headers, history headers."""
    records = [
        {"id": f"f{i}", "modelInfo": text, "installDate": text, "type": text, "state": text}
        for i, text in enumerate(FORMULA_LIKE)
    ]
    path, _ = _write(tmp_path, records)
    workbook = openpyxl.load_workbook(path)
    for name in SHEETS:
        cells = _cells(workbook[name])
        assert not [c.coordinate for c in cells if c.data_type == "f"], name
        texts = {c.value for c in cells if c.data_type == "s"}
        if name not in ("installDate_count", "State History"):  # no model/type/state text on these two
            assert set(FORMULA_LIKE) <= texts, name
    assert set(FORMULA_LIKE) <= {c.value for c in workbook["State History"][1] if c.data_type == "s"}
    values = {row[0].value: row for row in workbook["values"].iter_rows(min_row=2)}
    for i, text in enumerate(FORMULA_LIKE):
        assert [(c.value, c.data_type) for c in values[f"f{i}"][1:]] == [
            (text, "s"),
            (None, "n"),  # an unparseable date is an empty date cell, its raw text is kept beside it
            (text, "s"),
            (text, "s"),
            (text, "s"),
        ]


def test_counts_are_numbers_formatted_as_whole_numbers(tmp_path):
    path, _ = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    count_columns = {f"{field}_count": "B" for field in ("modelInfo", "installDate", "type", "state")}
    count_columns |= {"Status Pivot": "BCD", "State History": "BCD", "Week over Week": "D"}
    for name, letters in count_columns.items():
        cells = [c for c in _cells(workbook[name]) if c.row > 1 and c.column_letter in letters]
        assert cells, name
        for cell in cells:
            assert cell.data_type == "n" and cell.number_format == "#,##0", (name, cell.coordinate)
            assert isinstance(cell.value, int | float) and cell.value == int(cell.value) >= 0


def test_status_pivot_counts_every_station(tmp_path):
    path, _ = _write(tmp_path, _records())
    sheet = openpyxl.load_workbook(path)["Status Pivot"]
    assert [c.value for c in sheet[1]] == ["modelInfo", "(no state)", "OK", "PLANNED"]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[None] == (1, 0, 0)
    assert rows["ABB"] == (0, 0, 1)  # its date is unparseable; the station still counts
    assert sum(sum(r) for r in rows.values()) == 7


def test_status_pivot_has_a_native_chart_stacked_by_state(tmp_path):
    path, _ = _write(tmp_path, _records())
    sheet = openpyxl.load_workbook(path)["Status Pivot"]
    [chart] = sheet._charts
    assert (chart.tagname, chart.type, chart.grouping, chart.overlap) == ("barChart", "col", "stacked", 100)
    models = sheet.max_row - 1
    assert models == 7
    assert [s.tx.strRef.f for s in chart.series] == [f"'Status Pivot'!${col}$1" for col in "BCD"]
    assert {s.cat.strRef.f for s in chart.series} == {f"'Status Pivot'!$A$2:$A${models + 1}"}
    assert [s.val.numRef.f for s in chart.series] == [
        f"'Status Pivot'!${col}$2:${col}${models + 1}" for col in "BCD"
    ]


def test_every_table_sheet_has_a_frozen_header_an_autofilter_and_fitted_widths(tmp_path):
    records = [*_records(), {"id": "long", "modelInfo": "Wallbox " * 40, "type": "AC", "state": "OK"}]
    path, _ = _write(tmp_path, records, max_rows_per_sheet=6)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:2] == ["values", "values (2)"]
    for sheet in workbook:
        last = get_column_letter(sheet.max_column)
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{last}{sheet.max_row}", sheet.title
        widths = [
            sheet.column_dimensions[get_column_letter(col)].width for col in range(1, sheet.max_column + 1)
        ]
        assert all(
            len(str(sheet.cell(1, col).value)) < width <= MAX_COLUMN_WIDTH + 1
            for col, width in enumerate(widths, 1)
        )
    values = workbook["values"]
    assert values.column_dimensions["B"].width == pytest.approx(MAX_COLUMN_WIDTH, abs=1)  # capped
    assert values.column_dimensions["A"].width < 10  # "id" and short ids
    assert values.column_dimensions["C"].width >= len("yyyy-mm-dd hh:mm:ss")


def test_rows_past_the_sheet_limit_continue_on_numbered_sheets(tmp_path):
    records = [
        {"id": str(i), "modelInfo": "M", "installDate": None, "type": "AC", "state": "OK"} for i in range(7)
    ]
    path, written = _write(tmp_path, records, max_rows_per_sheet=3)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:4] == ["values", "values (2)", "values (3)", "values (4)"]
    assert written.rows_per_sheet["values"] == 2 and written.rows_per_sheet["values (4)"] == 1
    ids = [
        r[0]
        for name in workbook.sheetnames[:4]
        for r in workbook[name].iter_rows(min_row=2, values_only=True)
    ]
    assert ids == [str(i) for i in range(7)]
    assert all(workbook[name]["A1"].value == "id" for name in workbook.sheetnames[:4])


def test_sheet_limit_must_leave_room_for_a_row(tmp_path):
    with pytest.raises(ValueError, match="header and at least one row"):
        _write(tmp_path, _records(), max_rows_per_sheet=1)


def test_control_characters_and_emoji_survive(tmp_path):
    """Excel escapes a control character as `_x0001_`; openpyxl reads that as is, `unescape` undoes it."""
    text = "ctl\x01\x07\x1f tab\t nl\n 🚗⚡ Zürich 北京"
    path, _ = _write(tmp_path, [{"id": "1", "modelInfo": text, "type": "AC", "state": text}])
    workbook = openpyxl.load_workbook(path)
    cells = {
        "values": ["B2", "F2"],
        "modelInfo_count": ["A2"],
        "state_count": ["A2"],
        "Status Pivot": ["A2", "B1"],
        "State History": ["B1"],
        "Week over Week": ["A2", "C2"],
    }
    for sheet, coordinates in cells.items():
        for coordinate in coordinates:
            assert unescape(workbook[sheet][coordinate].value) == text, (sheet, coordinate)


def test_text_that_looks_like_an_escape_stays_literal(tmp_path):
    """`_x0041_` is written as `_x005F_x0041_`, so Excel shows it as typed, not as "A". Checked on the
    streamed `values` sheet: on sheets kept in memory (shared strings) openpyxl drops the `_x005F_`."""
    text = "lit _x0041_ end"
    path, _ = _write(tmp_path, [{"id": "1", "modelInfo": text, "type": "AC", "state": "OK"}])
    assert unescape(openpyxl.load_workbook(path)["values"]["B2"].value) == text


def test_history_sheets_show_days_as_dates_and_changes_per_model(tmp_path):
    path, written = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    history = workbook["State History"]
    assert [list(r) for r in history.iter_rows(values_only=True)] == [
        ["day", "(no state)", "OK", "PLANNED"],
        [datetime(2026, 11, 18), 2, 10, 2],
        [datetime(2026, 11, 25), 1, 5, 1],
    ]
    assert all(c.is_date and c.number_format == "yyyy-mm-dd" for c in history["A"][1:])
    changes = [list(r) for r in workbook["Week over Week"].iter_rows(values_only=True)]
    assert changes[0] == ["modelInfo", "from_state", "to_state", "stations"]
    assert ["Alfen", "PLANNED", "OK", 1] in changes
    assert sum(r[3] for r in changes[1:] if r[1] == "(new)") == 5
    assert written.rows_per_sheet["Week over Week"] == len(changes) - 1


def test_a_model_name_too_long_for_a_cell_is_cut_visibly_and_counted(tmp_path):
    long_name = "Hypercharger " + "x" * 39_987  # 40,000 characters
    records = [*_records(), {"id": "long", "modelInfo": long_name, "type": "DC", "state": "OK"}]
    path, written = _write(tmp_path, records)
    workbook = openpyxl.load_workbook(path)
    values = {row[0].value: row for row in workbook["values"].iter_rows(min_row=2)}
    cut = values["long"][1].value
    assert values["long"][5].value == "OK"  # the station keeps its row
    assert cut.startswith("Hypercharger xxx") and cut.endswith("… [truncated: 40,000 characters]")
    assert len(cut) == EXCEL_MAX_CHARS
    for sheet, column in (("modelInfo_count", "A"), ("Status Pivot", "A"), ("Week over Week", "A")):
        assert cut in [c.value for c in workbook[sheet][column]], sheet
    assert written.truncated_cells == 4  # values, modelInfo_count, Status Pivot, Week over Week


def test_fit_cell_text_counts_in_excels_utf16_units():
    assert fit_cell_text("x" * EXCEL_MAX_CHARS) == "x" * EXCEL_MAX_CHARS
    cut = fit_cell_text("x" * (EXCEL_MAX_CHARS + 1))
    assert len(cut) == EXCEL_MAX_CHARS and cut.endswith("… [truncated: 32,768 characters]")
    emoji = fit_cell_text("🚗" * 20_000)  # 20,000 characters, 40,000 UTF-16 code units
    assert emoji.endswith("… [truncated: 20,000 characters]")
    assert len(emoji.encode("utf-16-le")) // 2 <= EXCEL_MAX_CHARS
    assert set(emoji.removesuffix("… [truncated: 20,000 characters]")) == {"🚗"}  # no half emoji
