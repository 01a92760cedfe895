import json
import random
import typing
from datetime import UTC, datetime

import msgspec
import pandas as pd
import pytest
from pydantic import StrictInt, StrictStr

from pipeline.sandbox import make_stations
from pipeline.sources.econnect import transforms
from pipeline.sources.econnect.schema import StationCounts, StationRecord, Stations
from pipeline.sources.econnect.transforms import (
    install_instants,
    iso_instants,
    model_state_changes,
    parse_install_date,
    state_by_model,
    state_history,
    station_counts,
    stations_from_pages,
)


def station(station_id, model="M1", date="2021-03-04", type_="AC", state="OPERATIONAL", **extra):
    return {"id": station_id, "modelInfo": model, "installDate": date, "type": type_, "state": state, **extra}


DATE_CASES = [
    ("2021-03-04", datetime(2021, 3, 4, tzinfo=UTC)),
    ("2021-03-04T10:15:00Z", datetime(2021, 3, 4, 10, 15, tzinfo=UTC)),
    ("2021-03-04T10:15:00+02:00", datetime(2021, 3, 4, 8, 15, tzinfo=UTC)),
    ("2021-03-04T10:15:00.123Z", datetime(2021, 3, 4, 10, 15, 0, 123000, tzinfo=UTC)),
    ("2021-03-04T10:15:00.123456+01:00", datetime(2021, 3, 4, 9, 15, 0, 123456, tzinfo=UTC)),
    # No offset is read as UTC, whatever offsets its neighbours had (pandas' mixed parsing does not).
    ("2021-03-04T10:15:00", datetime(2021, 3, 4, 10, 15, tzinfo=UTC)),
    (" 2021-03-04 ", datetime(2021, 3, 4, tzinfo=UTC)),
    ("31/02/2021", None),
    ("2021-02-31", None),
    ("not a date", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_CASES)
def test_install_date_forms_parse_to_utc(raw, expected):
    assert parse_install_date(raw) == expected


def test_duplicate_station_across_pages_is_kept_once_with_the_later_values():
    pages = [
        (0, [station("A", state="PLANNED"), station("B")]),
        (1, [station("A", state="OPERATIONAL"), station("C")]),
        (2, []),
    ]
    clean = stations_from_pages(pages)
    stations, rejects = clean.table, clean.rejects
    assert (clean.records, clean.duplicates) == (4, 1)
    assert list(stations["id"]) == ["B", "A", "C"]
    assert stations.set_index("id").loc["A", "state"] == "OPERATIONAL"
    assert stations.set_index("id").loc["A", "page"] == 1
    assert len(rejects) == 0


def test_missing_and_null_text_fields_become_empty_strings():
    record = {"id": 7, "installDate": None}
    stations = stations_from_pages([(0, [record, station("X", model=None, type_=None, state=None)])]).table
    assert stations.to_dict("records")[0] | {"installDate": None} == {
        "id": "7",
        "modelInfo": "",
        "installDate": None,
        "installDate_raw": "",
        "type": "",
        "state": "",
        "page": 0,
    }
    assert (stations.loc[1, ["modelInfo", "type", "state"]] == "").all()
    Stations.validate(stations)


def test_records_breaking_the_contract_are_rejected_with_location_and_reason():
    pages = [(3, [station("ok"), {"modelInfo": "no id"}, "not a dict", station("bad", model=42)])]
    clean = stations_from_pages(pages)
    stations, rejects = clean.table, clean.rejects
    assert (clean.records, clean.duplicates) == (4, 0)
    assert list(stations["id"]) == ["ok"]
    assert list(rejects["location"]) == ["page 3, item 1", "page 3, item 2", "page 3, item 3"]
    assert rejects.loc[0, "reason"].startswith("id: Field required")
    assert "modelInfo" in rejects.loc[2, "reason"]
    assert rejects.loc[2, "record"] == (
        '{"id": "bad", "modelInfo": 42, "installDate": "2021-03-04", "type": "AC", "state": "OPERATIONAL"}'
    )


def _stations():
    pages = [
        (
            0,
            [
                station("1", model="Alfen", date="2021-03-04T10:15:00+02:00", state="OPERATIONAL"),
                station("2", model="Alfen", date="2021-03-04T08:15:00Z", state="PLANNED"),
                station("3", model="ABB", date="garbage", type_="DC", state="OPERATIONAL"),
                station("4", model=None, date=None, type_=None, state=None),
                station("5", model="ABB", date="2020-01-01", type_="DC", state="OPERATIONAL"),
            ],
        )
    ]
    return stations_from_pages(pages).table


def test_counts_per_field_sum_to_station_total_and_treat_missing_as_empty():
    counts = station_counts(_stations())
    StationCounts.validate(counts)
    by_field = {field: dict(zip(g["value"], g["count"], strict=True)) for field, g in counts.groupby("field")}
    assert by_field["modelInfo"] == {"ABB": 2, "Alfen": 2, "": 1}
    assert by_field["installDate"] == {"2021-03-04T08:15:00Z": 2, "2020-01-01T00:00:00Z": 1, "": 2}
    assert by_field["type"] == {"AC": 2, "DC": 2, "": 1}
    assert by_field["state"] == {"OPERATIONAL": 3, "PLANNED": 1, "": 1}
    assert counts.groupby("field")["count"].sum().to_dict() == dict.fromkeys(
        ["installDate", "modelInfo", "state", "type"], 5
    )


def test_counts_are_most_common_first_then_by_value():
    counts = station_counts(_stations())
    assert list(counts.loc[counts["field"] == "modelInfo", "value"]) == ["ABB", "Alfen", ""]


def test_pivot_counts_stations_even_with_bad_or_missing_dates():
    pivot = state_by_model(_stations())
    assert pivot.to_dict("index") == {
        "": {"": 1, "OPERATIONAL": 0, "PLANNED": 0},
        "ABB": {"": 0, "OPERATIONAL": 2, "PLANNED": 0},
        "Alfen": {"": 0, "OPERATIONAL": 1, "PLANNED": 1},
    }
    assert int(pivot.to_numpy().sum()) == 5
    assert pivot.index.name == "modelInfo"


def test_empty_snapshot_gives_empty_but_typed_tables():
    clean = stations_from_pages([(0, [])])
    stations, rejects = clean.table, clean.rejects
    Stations.validate(stations)
    assert len(stations) == 0 and len(rejects) == 0
    assert len(station_counts(stations)) == 0
    assert state_by_model(stations).shape == (0, 0)
    assert str(stations["installDate"].dtype) == str(pd.DatetimeTZDtype("ns", "UTC"))


def test_model_state_changes_count_transitions_new_and_gone_stations_per_model():
    week_before = stations_from_pages(
        [(0, [station("1", state="PLANNED"), station("2", state="PLANNED"), station("3", model="ABB")])]
    ).table
    today = stations_from_pages(
        [(0, [station("1", state="OPERATIONAL"), station("2", state="PLANNED"), station("4", model="ABB")])]
    ).table
    changes = model_state_changes(week_before, today)
    assert changes.values.tolist() == [
        ["ABB", "(new)", "OPERATIONAL", 1],
        ["ABB", "OPERATIONAL", "(gone)", 1],
        ["M1", "PLANNED", "OPERATIONAL", 1],
    ]


def test_state_history_lists_states_per_stored_day_in_day_order():
    day1 = station_counts(_stations())
    day2 = station_counts(_stations().iloc[:2])
    history = state_history({"2026-11-25": day2, "2026-11-18": day1})
    assert history.values.tolist() == [
        ["2026-11-18", "", 1],
        ["2026-11-18", "OPERATIONAL", 3],
        ["2026-11-18", "PLANNED", 1],
        ["2026-11-25", "OPERATIONAL", 1],
        ["2026-11-25", "PLANNED", 1],
    ]
    assert state_history({}).empty


def test_install_instants_are_formatted_as_iso_utc_with_microseconds_only_when_present():
    raw = [
        "2021-03-04T10:15:00+02:00",
        "2021-03-04T10:15:00.123Z",
        "2021-03-04T10:15:00.000001Z",
        None,
        "bad",
    ]
    column = pd.Series([parse_install_date(r) for r in raw], dtype="datetime64[ns, UTC]")
    assert iso_instants(column).tolist() == [
        "2021-03-04T08:15:00Z",
        "2021-03-04T10:15:00.123000Z",
        "2021-03-04T10:15:00.000001Z",
        "",
        "",
    ]


def test_pages_as_raw_bodies_give_the_same_stations_and_rejects_as_parsed_pages():
    good = [station("1"), station("2", state=None)]
    bad = [station("3"), {"modelInfo": "no id"}]
    bodies = [
        (0, json.dumps({"content": good, "number": 0}).encode()),
        (1, json.dumps({"content": bad}).encode()),
    ]
    from_bodies, from_lists = stations_from_pages(bodies), stations_from_pages([(0, good), (1, bad)])
    pd.testing.assert_frame_equal(from_bodies.table, from_lists.table)
    pd.testing.assert_frame_equal(from_bodies.rejects, from_lists.rejects)
    assert from_bodies.records == from_lists.records == 4


def one_by_one(raw):
    """The oracle for `install_instants`: `parse_install_date` per value, as the table held it before."""
    return pd.Series([parse_install_date(value or None) for value in raw], dtype="datetime64[ns, UTC]")


def odd_dates(count, seed=5):
    """Install dates in every form `fromisoformat` knows and many it does not, valid and not."""
    rng = random.Random(seed)

    def one():
        day = f"{rng.choice([1899, 1900, 1969, 2021, 2024, 2099, 2100])}-{rng.choice(['02', '12', '13'])}-"
        day += rng.choice(["01", "28", "29", "31", "32"])
        if rng.random() < 0.2:
            return day + rng.choice(["", " ", "T", "Z"])
        time = rng.choice(["T", "T", "T", " ", "t"]) + rng.choice(["00", "23", "24"])
        time += rng.choice([":00", ":60"])
        time += rng.choice(["", ":00", ":00", ":59", ":60"])
        time += rng.choice(["", "", ".1", ".123", ".123456", ".1234567", ".123456789"])
        offset = rng.choice(
            ["", "", "Z", "Z", "z", "+00:00", "-00:00", "+02:00", "-05:00", "+23:59", "-23:59"]
        )
        return (
            rng.choice(["", " "])
            + day
            + time
            + (offset or rng.choice(["", "+24:00", "+0200", "+02", "+05:30:30"]))
        )

    return [one() for _ in range(count)]


def test_install_instants_parse_every_form_as_parse_install_date_does():
    raw = [case or "" for case, _ in DATE_CASES] + odd_dates(5000)
    raw += [station["installDate"] or "" for station in make_stations(3000) if "installDate" in station]
    random.Random(1).shuffle(raw)  # naive values among aware ones: pandas alone would misread them
    assert len({value for value in raw if one_by_one([value]).notna().all()}) > 1000  # not all NaT
    pd.testing.assert_series_equal(install_instants(raw), one_by_one(raw))


def test_install_instants_read_by_arrow_are_the_instants_parse_install_date_gives(monkeypatch):
    forms = [
        *("2021-03-04", "2021-03-04T10:15:00", "2021-03-04T10:15:00.5", "2021-03-04T10:15:00.123456Z"),
        *("2021-03-04T10:15:00+02:00", "1999-12-31T23:59:59-05:30", "2021-03-04T10:15:00.5+01:00", ""),
    ]
    raw = forms + [
        station["installDate"] or "" for station in make_stations(3000) if "installDate" in station
    ]
    raw = [value for value in raw if value == "" or one_by_one([value]).notna().all()]  # no impossible day
    random.Random(2).shuffle(raw)
    expected = one_by_one(raw)

    def refuse(*args, **kwargs):
        raise AssertionError("with no impossible day, Arrow parses every value; pandas is not asked")

    monkeypatch.setattr(transforms.pd, "to_datetime", refuse)
    pd.testing.assert_series_equal(install_instants(raw), expected)


def test_install_instants_read_a_naive_value_as_utc_whatever_its_neighbours_offsets():
    raw = ["2021-03-04T10:15:00+02:00", "2021-03-04T10:15:00", "2021-03-04", "2021-03-04T10:15:00-05:00"]
    assert install_instants(raw).dt.hour.tolist() == [8, 10, 0, 15]


def test_install_instants_of_no_values_are_typed():
    assert str(install_instants([]).dtype) == str(pd.DatetimeTZDtype("ns", "UTC"))


def test_the_page_contract_holds_the_same_fields_as_station_record():
    strict = {StrictStr: str, StrictInt: int}  # msgspec is strict by itself
    fields = {field.name: field for field in msgspec.structs.fields(transforms._Station)}
    assert list(fields) == list(StationRecord.model_fields)
    for name, field in StationRecord.model_fields.items():
        expected = tuple(strict.get(arg, arg) for arg in typing.get_args(field.annotation))
        assert typing.get_args(fields[name].type) == expected
        assert fields[name].required == field.is_required()


def test_a_page_with_a_bad_record_gives_its_good_records_as_a_clean_page_does():
    good = [
        station("a"),
        {"id": 12345678901234567890, "extra": {"nested": [1, 2]}},
        station("b", model=None, date="", type_=None, state=None),
        {"id": "c", "modelInfo": "ü ☃", "installDate": "2021-03-04T10:15:00.5"},
        station(7),
        station("7", state="later wins"),
    ]
    for pages in ([(0, good)], [(0, json.dumps({"content": good}).encode())]):
        clean = stations_from_pages(pages)
        checked_one_by_one = stations_from_pages([(0, [*good, {"id": 1.5}])])
        pd.testing.assert_frame_equal(clean.table, checked_one_by_one.table)
        assert (clean.records, clean.duplicates, len(checked_one_by_one.rejects)) == (6, 1, 1)
    assert clean.table["id"].tolist() == ["a", "12345678901234567890", "b", "c", "7"]
    assert clean.table["state"].tolist()[-1] == "later wins"


def test_install_instants_keep_microseconds_exactly_and_drop_nanoseconds_like_the_calendar_fields():
    instants = pd.Series(
        pd.to_datetime([-1, 0, 1_500, 10**18 + 123_456_789, None], unit="ns", utc=True),
        index=[5, 4, 3, 2, 1],
        name="installDate",
    ).dt.tz_convert("Europe/Berlin")
    expected = [
        t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{t.microsecond:06d}" if t.microsecond else "")
        + "Z"
        if pd.notna(t)
        else ""
        for t in instants
    ]
    formatted = iso_instants(instants)
    assert (
        formatted.tolist()
        == expected
        == [
            "1969-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00Z",
            "1970-01-01T00:00:00.000001Z",
            "2001-09-09T01:46:40.123456Z",
            "",
        ]
    )
    assert (list(formatted.index), formatted.name, formatted.dtype) == (
        [5, 4, 3, 2, 1],
        "installDate",
        object,
    )


def test_install_date_counts_with_equal_counts_are_ordered_as_text():
    dates = ["2021-03-04T10:15:00Z", "2021-03-04T10:15:00.5Z", None, "2021-03-04T10:15:01Z", "x"]
    stations = stations_from_pages([(0, [station(str(n), date=d) for n, d in enumerate(dates)])]).table
    counts = station_counts(stations)
    assert counts.loc[counts["field"] == "installDate", ["value", "count"]].values.tolist() == [
        ["", 2],
        ["2021-03-04T10:15:00.500000Z", 1],
        ["2021-03-04T10:15:00Z", 1],
        ["2021-03-04T10:15:01Z", 1],
    ]
    StationCounts.validate(counts)


@pytest.mark.parametrize("raw", ["1500-01-01", "2999-12-31T00:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_an_install_date_outside_what_a_timestamp_holds_is_empty_and_the_station_still_counts(raw):
    pages = [(0, [station("A", date=raw), station("B", date="2024-05-01")]), (1, [])]
    stations = stations_from_pages(pages).table.set_index("id")
    assert pd.isna(stations.loc["A", "installDate"])
    assert stations.loc["A", "installDate_raw"] == raw
    assert stations.loc["B", "installDate"] == pd.Timestamp("2024-05-01", tz="UTC")
    counts = station_counts(stations.reset_index())
    dates = counts[counts["field"] == "installDate"].set_index("value")["count"].to_dict()
    assert dates == {"": 1, "2024-05-01T00:00:00Z": 1}
