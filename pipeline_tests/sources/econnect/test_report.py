from datetime import datetime

import openpyxl
import pytest

from pipeline.sources.econnect.report import write_station_report
from pipeline.sources.econnect.transforms import (
    model_state_changes,
    state_by_model,
    state_history,
    station_counts,
    stations_from_pages,
)

FORMULA_LIKE = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,1)", "@cmd", "-2+3"]


def _write(tmp_path, records, **kwargs):
    stations = stations_from_pages([(0, records)]).table
    path = tmp_path / "report.xlsx"
    counts = station_counts(stations)
    history = state_history({"2026-11-18": counts.assign(count=counts["count"] * 2), "2026-11-25": counts})
    changes = model_state_changes(stations.iloc[:2].assign(state="PLANNED"), stations)
    rows = write_station_report(
        path,
        stations,
        counts,
        state_by_model(stations),
        state_history=history,
        model_changes=changes,
        **kwargs,
    )
    return path, rows


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


def test_workbook_has_exactly_the_report_sheets(tmp_path):
    path, rows = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [
        "values",
        "modelInfo_count",
        "installDate_count",
        "type_count",
        "state_count",
        "Status Pivot",
        "State History",
        "Week over Week",
    ]
    assert rows["values"] == 7
    for field in ("modelInfo", "installDate", "type", "state"):
        sheet = workbook[f"{field}_count"]
        assert [c.value for c in sheet[1]] == [field, "count"]
        assert sum(row[1] for row in sheet.iter_rows(min_row=2, values_only=True)) == 7


def test_values_sheet_cells_are_typed(tmp_path):
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
    assert first[3].value == "2021-03-04T10:15:00+02:00" and first[3].data_type == "s"
    assert second[2].value is None and second[3].value == "bad date"
    assert [c.value for c in third] == ["3", None, None, None, None, None]


def test_formula_like_strings_stay_strings_everywhere(tmp_path):
    path, _ = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    values = {row[0].value: row for row in workbook["values"].iter_rows(min_row=2)}
    for i, text in enumerate(FORMULA_LIKE):
        model_cell = values[f"f{i}"][1]
        assert (model_cell.value, model_cell.data_type) == (text, "s")
    for sheet_name in ("modelInfo_count", "type_count", "Status Pivot"):
        cells = [c for row in workbook[sheet_name].iter_rows() for c in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"], sheet_name
        assert set(FORMULA_LIKE) <= {c.value for c in cells}


def test_status_pivot_counts_every_station(tmp_path):
    path, _ = _write(tmp_path, _records())
    sheet = openpyxl.load_workbook(path)["Status Pivot"]
    header = [c.value for c in sheet[1]]
    assert header == ["modelInfo", None, "OK", "PLANNED"]  # the empty state's column header is blank
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[None] == (1, 0, 0)
    assert rows["ABB"] == (0, 0, 1)  # its date is unparseable; the station still counts
    assert sum(sum(r) for r in rows.values()) == 7
    assert all(isinstance(v, int) for r in rows.values() for v in r)


def test_rows_past_the_sheet_limit_continue_on_numbered_sheets(tmp_path):
    records = [
        {"id": str(i), "modelInfo": "M", "installDate": None, "type": "AC", "state": "OK"} for i in range(7)
    ]
    path, rows = _write(tmp_path, records, max_rows_per_sheet=3)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[:4] == ["values", "values (2)", "values (3)", "values (4)"]
    assert rows["values"] == 2 and rows["values (4)"] == 1
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


def test_history_sheets_show_states_per_day_and_changes_per_model(tmp_path):
    path, rows = _write(tmp_path, _records())
    workbook = openpyxl.load_workbook(path)
    history = [list(r) for r in workbook["State History"].iter_rows(values_only=True)]
    assert history == [
        ["day", None, "OK", "PLANNED"],
        ["2026-11-18", 2, 10, 2],
        ["2026-11-25", 1, 5, 1],
    ]
    changes = [list(r) for r in workbook["Week over Week"].iter_rows(values_only=True)]
    assert changes[0] == ["modelInfo", "from_state", "to_state", "stations"]
    assert ["Alfen", "PLANNED", "OK", 1] in changes
    assert sum(r[3] for r in changes[1:] if r[1] == "(new)") == 5
    assert rows["Week over Week"] == len(changes) - 1
