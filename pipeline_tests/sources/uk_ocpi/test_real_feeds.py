"""Issue 16: the cleaning rules for what real UK feeds send (2.1.1 names, ids as numbers, statuses in any
spelling, per-site EVSE uids, non-UK locations, stale status data), each with exact values."""

import io
import json
import math

import ijson
import pandas as pd
import pytest
from pydantic_core import from_json

from pipeline.sources.uk_ocpi.transforms import (
    FeedLocations,
    conformance_markdown,
    out_of_order_history,
    status_by_operator,
)
from pipeline_tests.sources.uk_ocpi.builders import (
    DROP,
    clean,
    conformance_of,
    connector,
    evse,
    feed,
    location,
    nonzero,
)

NAN = math.nan
SYDNEY = {"latitude": "-33.868800", "longitude": "151.209300"}

# --- OCPI 2.1.1 names --------------------------------------------------------------------------------


def connector_211(**changes):
    """A 2.1.1 connector: `voltage` and `amperage`, no `max_*` fields, a singular `tariff_id`."""
    base = {"max_voltage": DROP, "max_amperage": DROP, "max_electric_power": DROP, "tariff_ids": DROP,
            "voltage": 230, "amperage": 32, "tariff_id": "T1"}  # fmt: skip
    return connector(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "row", "kw", "counted"),
    [
        ({"power_type": "AC_3_PHASE"}, [230.0, 32.0, NAN, 22080.0], "22.1", 1),
        ({"power_type": "AC_1_PHASE", "voltage": "230", "amperage": "16"},
         [230.0, 16.0, NAN, 3680.0], "3.7", 1),
        ({"power_type": "DC", "voltage": 500, "amperage": 125}, [500.0, 125.0, NAN, 62500.0], "62.5", 1),
        ({"max_voltage": 230, "amperage": 16}, [230.0, 16.0, NAN, 11040.0], "11", 1),  # one of two: counted
        ({"max_electric_power": 7400}, [230.0, 32.0, 7400.0, 7400.0], "7.4", 0),  # power as sent: no fallback
        ({"max_voltage": 230, "max_amperage": 16, "voltage": 400, "amperage": 63},
         [230.0, 16.0, NAN, 11040.0], "11", 0),  # 2.2.1's names win
        ({"amperage": DROP}, [230.0, NAN, NAN, NAN], "", 0),
        ({"max_amperage": 0}, [230.0, 0.0, NAN, NAN], "", 0),  # 0 is sent, so 2.1.1's is not read
    ],
)  # fmt: skip
def test_connector_power_falls_back_to_2_1_1_voltage_and_amperage(changes, row, kw, counted):
    cleaned = clean(feed([location("L1", evse("E1", connector_211(**changes)))]))
    columns = ["max_voltage", "max_amperage", "max_electric_power", "power_w"]
    assert cleaned.connectors[columns].iloc[0].tolist() == pytest.approx(row, nan_ok=True)
    assert cleaned.evses["max_power_kw"].tolist() == [kw]
    row = conformance_of(cleaned)
    assert (row["ocpi_211_powers"], row["missing_connector_max_voltage"]) == (
        counted,
        "max_voltage" not in changes,
    )


@pytest.mark.parametrize(
    ("parking_type", "kind", "expected", "counted"),
    [
        ("ON_STREET", DROP, "ON_STREET", 0),
        ("on_street", DROP, "ON_STREET", 0),  # upper-cased like status
        (DROP, "PARKING_LOT", "PARKING_LOT", 1),
        (DROP, "underground_garage", "UNDERGROUND_GARAGE", 1),
        (DROP, "PARKING_GARAGE", "PARKING_GARAGE", 1),
        (DROP, "ON_STREET", "ON_STREET", 1),
        (DROP, "OTHER", "", 1),  # says nothing about the parking
        (DROP, "UNKNOWN", "", 1),
        ("", "PARKING_LOT", "PARKING_LOT", 1),  # blank is absent
        ("PARKING_GARAGE", "ON_STREET", "PARKING_GARAGE", 0),  # 2.2.1's name wins
        (DROP, DROP, "", 0),
    ],
)
def test_parking_type_falls_back_to_2_1_1_location_type(parking_type, kind, expected, counted):
    cleaned = clean(feed([location("L1", evse("E1"), parking_type=parking_type, type=kind)]))
    assert cleaned.locations["parking_type"].tolist() == cleaned.evses["parking_type"].tolist() == [expected]
    assert conformance_of(cleaned)["ocpi_211_parking_types"] == counted


# --- ids -----------------------------------------------------------------------------------------------


def numeric_ids():
    return [
        {"id": 143, "evses": [{"uid": 1, "evse_id": 9001, "status": "AVAILABLE",
                               "connectors": [{"id": 1, "max_electric_power": 7400}]},
                              {"uid": None, "evse_id": 9002.0, "status": "AVAILABLE"}]},
        {"id": 143.0, "evses": [{"uid": 2, "evse_id": 9003}]},  # the same location, served again
    ]  # fmt: skip


@pytest.mark.parametrize("decoder", ["ijson", "pydantic"])
def test_ids_sent_as_json_numbers_are_read_as_text_by_either_decoder(decoder):
    # `raw.read_locations` streams pages with ijson (use_float=True); a whole page is read by pydantic.
    body = json.dumps(numeric_ids()).encode()
    items = (
        list(ijson.items(io.BytesIO(body), "item", use_float=True)) if decoder == "ijson" else from_json(body)
    )
    cleaned = clean(
        FeedLocations("chargy", "char.gy", [(f"page 0, item {i}", raw) for i, raw in enumerate(items)])
    )
    assert cleaned.evses[["location_id", "uid", "evse_id"]].values.tolist() == [["143", "2", "9003"]]
    assert conformance_of(cleaned)["duplicate_locations"] == 1  # 143 and 143.0 are one id
    first = clean(FeedLocations("chargy", "char.gy", [("page 0, item 0", items[0])]))
    assert first.evses[["uid", "evse_id"]].values.tolist() == [["1", "9001"], ["", "9002"]]
    assert first.connectors[["evse", "connector_id"]].values.tolist() == [["1", "1"]]


# --- statuses ------------------------------------------------------------------------------------------


def test_statuses_are_upper_cased_out_of_order_is_read_as_outoforder_and_both_are_counted():
    sent = ["WORKING", "FAULTED", "available", "preparing", "charging", "inoperative", "OUT_OF_ORDER",
            "out_of_order", "OUTOFORDER"]  # fmt: skip
    cleaned = clean(feed([location("L1", *(evse(f"E{i}", status=status) for i, status in enumerate(sent)))]))
    assert cleaned.evses["status"].tolist() == [
        "WORKING", "FAULTED", "AVAILABLE", "PREPARING", "CHARGING", "INOPERATIVE", "OUTOFORDER", "OUTOFORDER",
        "OUTOFORDER",
    ]  # fmt: skip
    row = conformance_of(cleaned)
    assert (row["unknown_statuses"], row["statuses_not_upper_case"], row["statuses_mapped"]) == (
        "FAULTED: 1, PREPARING: 1, WORKING: 1", 5, 2,
    )  # fmt: skip
    history = out_of_order_history({"2024-06-02": status_by_operator(cleaned.evses)})
    assert history[["evses", "out_of_order", "out_of_order_share"]].values.tolist() == [[9, 4, 4 / 9]]


def test_a_removed_status_in_any_spelling_leaves_the_evse_out():
    cleaned = clean(
        feed([location("L1", evse("A", status=" Removed "), evse("B", status="removed"), evse("C"))])
    )
    assert cleaned.evses["uid"].tolist() == ["C"]
    assert conformance_of(cleaned)["removed_evses"] == 2


# --- EVSE identity -------------------------------------------------------------------------------------


def per_site_uids(sites=3):
    """A feed numbering EVSE uids per site: "1" and "2" at every location."""
    return [location(f"SITE{n}", evse("1", evse_id=DROP), evse("2", evse_id=DROP)) for n in range(sites)]


def test_uids_numbered_per_site_are_distinct_evses_and_their_reuse_is_counted():
    cleaned = clean(feed(per_site_uids()))
    assert cleaned.evses[["location_id", "uid"]].values.tolist() == [
        ["SITE0", "1"], ["SITE0", "2"], ["SITE1", "1"], ["SITE1", "2"], ["SITE2", "1"], ["SITE2", "2"],
    ]  # fmt: skip
    assert len(cleaned.connectors) == 6
    row = conformance_of(cleaned)
    assert (row["evses"], row["duplicate_evses"], row["reused_evse_uids"]) == (6, 0, 6)


def test_a_per_site_uid_feed_served_twice_by_paging_counts_each_evse_once():
    cleaned = clean(feed(per_site_uids(), per_site_uids()[1:]))
    assert cleaned.evses[["location_id", "uid"]].values.tolist() == [
        ["SITE0", "1"], ["SITE0", "2"], ["SITE1", "1"], ["SITE1", "2"], ["SITE2", "1"], ["SITE2", "2"],
    ]  # fmt: skip
    row = conformance_of(cleaned)
    assert (row["duplicate_locations"], row["duplicate_evses"], row["evses"]) == (2, 4, 6)


def test_the_same_uid_twice_in_one_location_is_one_evse_the_later_winning():
    cleaned = clean(feed([location("L1", evse("1", status="AVAILABLE"), evse("1", status="CHARGING"))]))
    assert cleaned.evses[["uid", "status"]].values.tolist() == [["1", "CHARGING"]]
    assert conformance_of(cleaned)["duplicate_evses"] == 1


def test_an_evse_is_known_by_evse_id_when_it_has_no_uid_within_its_location():
    cleaned = clean(
        feed([location("A", evse(DROP, evse_id="GB*X*1")), location("B", evse(None, evse_id="GB*X*1"))])
    )
    assert cleaned.evses[["location_id", "evse_id"]].values.tolist() == [["A", "GB*X*1"], ["B", "GB*X*1"]]
    assert conformance_of(cleaned)["reused_evse_uids"] == 2


def test_at_locations_without_id_an_evse_is_operator_and_uid_the_later_winning():
    cleaned = clean(
        feed(
            [location(DROP, evse("1", status="AVAILABLE"), evse("2"), name="First"),
             location(None, evse("1", status="CHARGING"), name="Second"),
             location("L3", evse("1"), name="Third")],
        )
    )  # fmt: skip
    assert cleaned.locations["name"].tolist() == ["First", "Second", "Third"]
    assert cleaned.evses[["location_id", "uid", "status"]].values.tolist() == [
        ["", "2", "AVAILABLE"],
        ["", "1", "CHARGING"],  # the first location's "1" is the same EVSE: the later copy wins
        ["L3", "1", "AVAILABLE"],  # a location with id has its own "1"
    ]
    row = conformance_of(cleaned)
    assert (row["evses"], row["duplicate_evses"], row["reused_evse_uids"]) == (3, 1, 2)


# --- UK only -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["GBR", "gbr", " GB ", "UK", "", None, DROP])
def test_a_location_in_the_uk_or_without_country_is_kept(country):
    cleaned = clean(feed([location("L1", evse("E1"), country=country)]))
    assert (len(cleaned.locations), len(cleaned.evses), conformance_of(cleaned)["non_uk_locations"]) == (
        1,
        1,
        0,
    )


def test_a_location_in_another_country_is_left_out_of_every_table_counted_and_rejected_by_id():
    australian = {"id": "AU1", "country": "AUS", "coordinates": SYDNEY, "evses": [{"uid": "1"}, "bad"]}
    cleaned = clean(feed([location("L1", evse("1")), australian, location("IE1", evse("9"), country="irl")]))
    assert cleaned.locations["location_id"].tolist() == ["L1"]
    assert cleaned.evses[["location_id", "uid"]].values.tolist() == [["L1", "1"]]
    assert cleaned.connectors["location_id"].tolist() == ["L1"]
    assert cleaned.rejects.to_dict("records")[0] == {
        "location": "chargy: page 0, item 1",
        "reason": "location 'AU1' is in 'AUS', not the UK: left out of the UK outputs",
        "record": json.dumps(australian),
    }
    assert cleaned.rejects["reason"].tolist()[1] == (
        "location 'IE1' is in 'irl', not the UK: left out of the UK outputs"
    )
    assert nonzero(conformance_of(cleaned)) == {
        "operator_name": "char.gy",
        "locations": 3,
        "published_locations": 3,
        "non_uk_locations": 2,  # neither their fields, coordinates nor EVSEs are counted
        "evses": 1,
        "rejects": 2,
    }


def test_a_non_uk_location_is_judged_on_its_later_copy_and_an_unpublished_one_is_not_rejected():
    cleaned = clean(
        feed(
            [location("L1", evse("1"), country="AUS"), location("L2", evse("2")),
             location("L3", evse("3"), country="AUS", publish=False)],
            [location("L1", evse("1"), country="GBR"), location("L2", evse("2"), country="AUS")],
        )
    )  # fmt: skip
    assert cleaned.locations["location_id"].tolist() == ["L1"]
    assert cleaned.rejects["location"].tolist() == ["chargy: page 1, item 1"]
    row = conformance_of(cleaned)
    assert (row["locations"], row["unpublished_locations"], row["non_uk_locations"]) == (3, 1, 1)


# --- stale status data ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("evse_updated", "location_updated", "stale"),
    [
        ("2024-06-02T00:00:00Z", DROP, 0),  # exactly 30 days before the day: not older
        ("2024-06-01T23:59:59Z", DROP, 1),
        ("2024-06-01T23:59:59.999", DROP, 1),  # no zone: UTC
        ("2024-06-02T00:00:00.000+00:00", DROP, 0),
        ("2024-06-02T00:30:00+01:00", DROP, 1),  # 23:30 UTC the day before
        ("2024-07-05T00:00:00Z", DROP, 0),  # in the future: not stale
        (DROP, "2024-06-20T00:00:00Z", 0),  # the location's when the EVSE has none
        (DROP, "2024-05-20T00:00:00Z", 1),
        (DROP, DROP, 1),  # nothing says the status is recent
        ("last week", "2024-06-20T00:00:00Z", 1),  # the EVSE's own, unreadable
    ],
)
def test_an_evse_is_stale_when_last_updated_over_30_days_before_the_day(
    evse_updated, location_updated, stale
):
    raw = location("L1", evse("E1", last_updated=evse_updated), last_updated=location_updated)
    row = conformance_of(clean(feed([raw]), day="2024-07-02"))
    assert (row["stale_evses"], row["stale_evses_share"]) == (stale, float(stale))


def test_the_stale_share_is_of_the_evses_counted_and_nan_without_evses_or_day():
    old, new = "2024-01-01T00:00:00Z", "2024-06-30T00:00:00Z"
    evses = [evse(f"E{i}", last_updated=old if i < 3 else new) for i in range(8)]
    gone = evse("GONE", last_updated=old, status="REMOVED")  # not counted: left out
    cleaned = clean(feed([location("L1", *evses, gone)]), feed(operator="empty"), day="2024-07-02")
    assert conformance_of(cleaned)["stale_evses"] == 3
    assert conformance_of(cleaned)["stale_evses_share"] == 3 / 8
    assert math.isnan(conformance_of(cleaned, "empty")["stale_evses_share"])
    undated = clean(feed([location("L1", *evses)]))
    assert conformance_of(undated)["stale_evses"] == 0 and math.isnan(
        conformance_of(undated)["stale_evses_share"]
    )
    assert cleaned.conformance.dtypes[["stale_evses", "stale_evses_share"]].tolist() == ["int64", "float64"]


# --- all at once: one real-looking feed and its summary ---------------------------------------------------


def real_feed():
    """One feed with every quirk above once: a 2.1.1 site, per-site uids, mapped statuses, a site abroad."""
    return feed(
        [location(143, evse("1", connector_211(power_type="AC_1_PHASE")), parking_type=DROP,
                  type="PARKING_LOT"),
         location("S2", evse("1", status="OUT_OF_ORDER", last_updated="2024-04-01T00:00:00"),
                  evse("2", status="out_of_order"), parking_type=DROP, type="OTHER"),
         {"id": "AU1", "country": "AUS", "coordinates": SYDNEY, "evses": [{"uid": "1"}]}],
        [location("S3", evse("3", last_updated="not a date"))],
        operator="evolt", name="Evolt",
    )  # fmt: skip


def test_a_real_looking_feed_is_counted_exactly_and_summarised():
    cleaned = clean(real_feed(), day="2024-06-20")
    assert cleaned.evses[
        ["location_id", "uid", "status", "parking_type", "max_power_kw"]
    ].values.tolist() == [
        ["143", "1", "AVAILABLE", "PARKING_LOT", "7.4"],
        ["S2", "1", "OUTOFORDER", "", "22"],
        ["S2", "2", "OUTOFORDER", "", "22"],
        ["S3", "3", "AVAILABLE", "ON_STREET", "22"],
    ]
    row = conformance_of(cleaned, "evolt")
    assert nonzero(row) == {
        "operator_name": "Evolt",
        "locations": 4,
        "published_locations": 4,
        "non_uk_locations": 1,
        "evses": 4,
        "reused_evse_uids": 2,
        "rejects": 1,
        "missing_connector_max_voltage": 1,
        "missing_connector_max_amperage": 1,
        "missing_connector_max_electric_power": 1,
        "statuses_not_upper_case": 1,
        "statuses_mapped": 2,
        "ocpi_211_parking_types": 2,
        "ocpi_211_powers": 1,
        "stale_evses": 2,
        "stale_evses_share": 0.5,
    }
    summary = conformance_markdown(cleaned.conformance).splitlines()
    assert summary[1:4] == [
        "- Locations: 4 (4 published, 0 unpublished, 0 served twice, 1 in another country left out)",
        "- EVSEs: 4 (0 removed left out, 0 served twice, 2 with a uid also used at another location, "
        "0 without power)",
        "- Stale status (last updated over 30 days before the day): 2 EVSEs (50.0%)",
    ]
    assert summary[6:8] == [
        "- OCPI 2.1.1 names read: `type` for 2 locations, `voltage`/`amperage` for 1 connectors",
        "- Statuses not in OCPI: none; not in upper case: 1; read as OCPI's spelling: 2",
    ]
    pd.testing.assert_frame_equal(cleaned.conformance, clean(real_feed(), day="2024-06-20").conformance)
