import math
from decimal import Decimal

import pandas as pd
import pytest

from pipeline.sources.uk_ocpi.schema import (
    CSV_HEADER,
    TARIFF_SEPARATOR,
    ChargePointCounts,
    Evses,
    OutOfOrderHistory,
    OutOfOrderWeekOverWeek,
    StatusByOperator,
)
from pipeline.sources.uk_ocpi.transforms import (
    charge_point_counts,
    conformance_markdown,
    kw_text,
    out_of_order_history,
    out_of_order_week_over_week,
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


# --- the tables, exactly ---------------------------------------------------------------------------


def test_one_location_gives_exact_locations_evses_and_connectors_frames():
    dc = connector(id="2", standard="IEC_62196_T2_COMBO", format="CABLE", power_type="DC",
                   max_voltage="920", max_amperage="400", max_electric_power="150000")  # fmt: skip
    raw = location(
        "LOC1",
        evse("E1", connector(), dc),
        evse("E2", connector(max_electric_power=DROP, power_type="AC_1_PHASE", max_amperage=32)),
        postal_code=" tw6  2rq ",
    )
    cleaned = clean(feed([raw]))
    pd.testing.assert_frame_equal(
        cleaned.locations,
        pd.DataFrame(
            [
                {"operator": "chargy", "operator_name": "char.gy", "location_id": "LOC1",
                 "name": "Car park LOC1", "address": "1 High Street", "city": "London", "postcode": "TW6 2RQ",
                 "country": "GBR", "latitude": 51.47, "longitude": -0.454, "parking_type": "ON_STREET",
                 "last_updated": "2024-05-01T10:00:00Z"},
            ]
        ),
    )  # fmt: skip
    common = {"operator": "chargy", "operator_name": "char.gy", "location_id": "LOC1"}
    where = {"parking_type": "ON_STREET", "postcode": "TW6 2RQ", "city": "London", "latitude": 51.47,
             "longitude": -0.454, "last_updated": "2024-06-02T08:00:00Z"}  # fmt: skip
    pd.testing.assert_frame_equal(
        cleaned.evses,
        pd.DataFrame(
            [
                {**common, "uid": "E1", "evse_id": "GB*CGY*E1", "status": "AVAILABLE",
                 "connector_standards": "IEC_62196_T2+IEC_62196_T2_COMBO", "power_types": "AC_3_PHASE+DC",
                 "max_power_kw": "150", **where},
                {**common, "uid": "E2", "evse_id": "GB*CGY*E2", "status": "AVAILABLE",
                 "connector_standards": "IEC_62196_T2", "power_types": "AC_1_PHASE", "max_power_kw": "7.4",
                 **where},
            ]
        ),
    )  # fmt: skip
    e1, e2 = ["chargy", "LOC1", "E1"], ["chargy", "LOC1", "E2"]
    pd.testing.assert_frame_equal(
        cleaned.connectors,
        pd.DataFrame(
            [
                [*e1, "1", "IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230.0, 32.0, 22000.0, 22000.0, ""],
                [*e1, "2", "IEC_62196_T2_COMBO", "CABLE", "DC", 920.0, 400.0, 150000.0, 150000.0, ""],
                [*e2, "1", "IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230.0, 32.0, NAN, 7360.0, ""],
            ],
            columns=["operator", "location_id", "evse", "connector_id", "standard", "format", "power_type",
                     "max_voltage", "max_amperage", "max_electric_power", "power_w", "tariff_ids"],
        ),
    )  # fmt: skip
    assert cleaned.rejects.empty
    assert nonzero(conformance_of(cleaned)) == {
        "operator_name": "char.gy",
        "locations": 1,
        "published_locations": 1,
        "evses": 2,
        "missing_connector_max_electric_power": 1,
    }


def test_a_connectors_tariff_ids_are_one_text_column_joined_by_a_line_break():
    connectors = [
        connector(id="1", tariff_ids=["T1", "t2"]),
        connector(id="2", tariff_ids=DROP, tariff_id="OLD"),
        connector(id="3", tariff_ids=[]),
    ]
    cleaned = clean(feed([location("LOC1", evse("E1", *connectors))]))
    assert cleaned.connectors["tariff_ids"].tolist() == ["T1\nt2", "OLD", ""]
    assert TARIFF_SEPARATOR == "\n"  # a CiString (printable ASCII) never holds one


def test_no_feeds_give_empty_typed_frames():
    cleaned = clean()
    assert all(frame.empty for frame in vars(cleaned).values())
    assert list(cleaned.evses.columns) == list(Evses.to_schema().columns)
    assert cleaned.conformance.dtypes["evses"] == "int64"


# --- publish, removed, identity, duplicates ----------------------------------------------------------


def test_unpublished_locations_are_skipped_and_a_location_without_publish_is_published():
    cleaned = clean(
        feed(
            [
                location("HIDDEN", evse("H1"), publish=False),
                location("NOFLAG", evse("N1"), publish=DROP),
                location("SHOWN", evse("S1"), publish=True),
                location("HIDDEN2", evse("H2"), publish="false"),
                location("NOTHING", evse("X1"), publish=None),
            ]
        )
    )
    assert list(cleaned.locations["location_id"]) == ["NOFLAG", "SHOWN", "NOTHING"]
    assert list(cleaned.evses["uid"]) == ["N1", "S1", "X1"]
    assert nonzero(conformance_of(cleaned)) == {
        "operator_name": "char.gy",
        "locations": 5,
        "published_locations": 3,
        "unpublished_locations": 2,
        "evses": 3,
        "missing_location_publish": 2,  # missing and null
    }


def test_a_location_without_id_is_kept_with_an_empty_id_and_counted():
    cleaned = clean(feed([location(DROP, evse("E1")), location("", evse("E2")), location("L3")]))
    assert list(cleaned.locations["location_id"]) == ["", "", "L3"]
    assert list(cleaned.evses["location_id"]) == ["", ""]
    assert conformance_of(cleaned)["missing_location_id"] == 2
    assert conformance_of(cleaned)["duplicate_locations"] == 0  # two locations without id are not one


@pytest.mark.parametrize("status", ["REMOVED", "removed", "Removed", " removed "])
def test_removed_evses_are_left_out_with_their_connectors_whatever_the_case(status):
    gone = evse("GONE", connector(id="9", standard=DROP), None, status=status, last_updated=DROP)
    cleaned = clean(feed([location("L1", gone, evse("KEPT"))]))
    assert list(cleaned.evses["uid"]) == ["KEPT"]
    assert list(cleaned.connectors["evse"]) == ["KEPT"]
    assert cleaned.rejects.empty  # its connectors are not read: the bad one is not reported either
    row = conformance_of(cleaned)
    assert (row["evses"], row["removed_evses"], row["statuses_not_upper_case"]) == (1, 1, 0)
    assert row["missing_evse_last_updated"] == row["missing_connector_standard"] == 0


def test_what_an_earlier_copy_of_an_evse_got_wrong_is_not_counted():
    early = evse("E1", connector(max_voltage=DROP), "plug", status="Working", last_updated=DROP)
    cleaned = clean(feed([location("L1", early)], [location("L1", evse("E1"))]))
    assert cleaned.rejects.empty
    assert nonzero(conformance_of(cleaned)) == {
        "operator_name": "char.gy",
        "locations": 1,
        "published_locations": 1,
        "duplicate_locations": 1,
        "evses": 1,
        "duplicate_evses": 1,
    }


def test_an_evse_is_identified_by_uid_else_by_evse_id():
    cleaned = clean(
        feed(
            [
                location(
                    "L1",
                    evse("U1", evse_id="GB*CGY*SAME"),
                    evse("U2", evse_id="GB*CGY*SAME"),  # another uid: another EVSE, whatever its evse_id
                    evse(DROP, evse_id="GB*CGY*ONLY"),
                    evse("", evse_id="GB*CGY*BLANKUID"),
                    evse(DROP, evse_id="U1"),  # an evse_id equal to another EVSE's uid is not that EVSE
                )
            ]
        )
    )
    assert cleaned.evses[["uid", "evse_id"]].to_dict("records") == [
        {"uid": "U1", "evse_id": "GB*CGY*SAME"},
        {"uid": "U2", "evse_id": "GB*CGY*SAME"},
        {"uid": "", "evse_id": "GB*CGY*ONLY"},
        {"uid": "", "evse_id": "GB*CGY*BLANKUID"},
        {"uid": "", "evse_id": "U1"},
    ]
    assert list(cleaned.connectors["evse"]) == ["U1", "U2", "GB*CGY*ONLY", "GB*CGY*BLANKUID", "U1"]
    row = conformance_of(cleaned)
    assert (row["duplicate_evses"], row["missing_evse_uid"]) == (0, 3)


def test_a_location_served_twice_counts_once_as_its_later_copy_with_that_copys_evses():
    # The later copy is the whole location as the feed now says: E2, which it no longer lists, is gone.
    first = location("L1", evse("E1", status="AVAILABLE"), evse("E2"), postal_code="TW6 2RQ", city="London")
    later = location(
        "L1",
        evse("E1", connector(max_electric_power=7400), status="CHARGING", last_updated="2024-07-01T00:00:00"),
        postal_code="M1 1AE",
        city="Manchester",
        coordinates={"latitude": "53.480000", "longitude": "-2.240000"},
    )
    cleaned = clean(feed([first], [later]))
    columns = ["uid", "status", "max_power_kw", "postcode", "city", "latitude", "last_updated"]
    assert cleaned.evses[columns].values.tolist() == [
        ["E1", "CHARGING", "7.4", "M1 1AE", "Manchester", 53.48, "2024-07-01T00:00:00"],
    ]
    assert cleaned.locations[["location_id", "postcode", "city"]].to_dict("records") == [
        {"location_id": "L1", "postcode": "M1 1AE", "city": "Manchester"}
    ]
    assert list(cleaned.connectors["power_w"]) == [7400.0]  # the later E1's only
    row = conformance_of(cleaned)
    assert (row["locations"], row["duplicate_locations"]) == (1, 1)
    assert (row["evses"], row["duplicate_evses"]) == (1, 1)


def test_the_same_uid_at_two_locations_is_two_evses_and_the_reuse_is_counted():
    # Issue 16: an EVSE was operator + uid, so a feed numbering uids per site lost half its EVSEs.
    cleaned = clean(feed([location("A", evse("E1"))], [location("B", evse("E1"), parking_type=DROP)]))
    assert cleaned.evses[["location_id", "parking_type"]].to_dict("records") == [
        {"location_id": "A", "parking_type": "ON_STREET"},
        {"location_id": "B", "parking_type": ""},
    ]
    assert list(cleaned.locations["location_id"]) == ["A", "B"]
    row = conformance_of(cleaned)
    assert (row["evses"], row["duplicate_evses"], row["reused_evse_uids"]) == (2, 0, 2)


def test_ocpi_ids_are_case_insensitive():
    cleaned = clean(feed([location("loc1", evse("e1"))], [location("LOC1", evse("E1", status="CHARGING"))]))
    assert cleaned.evses[["location_id", "uid", "status"]].to_dict("records") == [
        {"location_id": "LOC1", "uid": "E1", "status": "CHARGING"}
    ]
    row = conformance_of(cleaned)
    assert (row["duplicate_locations"], row["duplicate_evses"]) == (1, 1)


def test_a_removed_later_copy_removes_the_evse_and_an_unpublished_later_copy_the_location():
    cleaned = clean(
        feed(
            [location("L1", evse("E1"), evse("E2")), location("L2", evse("E3"))],
            [
                location("L1", evse("E1", status="REMOVED"), evse("E2")),
                location("L2", evse("E3"), publish=False),
            ],
        )
    )
    assert list(cleaned.evses["uid"]) == ["E2"]
    assert list(cleaned.locations["location_id"]) == ["L1"]
    row = conformance_of(cleaned)
    assert (row["locations"], row["published_locations"], row["unpublished_locations"]) == (2, 1, 1)
    assert (row["removed_evses"], row["duplicate_evses"]) == (1, 2)


def test_the_same_uid_at_two_operators_is_two_evses():
    cleaned = clean(feed([location("L1", evse("E1"))]), feed([location("L1", evse("E1"))], operator="other"))
    assert list(cleaned.evses["operator"]) == ["chargy", "other"]


# --- rejects -------------------------------------------------------------------------------------------


def test_an_evse_with_neither_uid_nor_evse_id_is_rejected():
    nameless = evse(DROP, evse_id=DROP, status="AVAILABLE", connectors=[])
    cleaned = clean(feed([location("L1", evse("E1"), nameless, evse("", evse_id="  "))]))
    assert list(cleaned.evses["uid"]) == ["E1"]
    assert cleaned.rejects.to_dict("records") == [
        {
            "location": "chargy: page 0, item 0, evses[1]",
            "reason": "the EVSE has neither `uid` nor `evse_id`, so it cannot be identified",
            "record": '{"status": "AVAILABLE", "connectors": [], "last_updated": "2024-06-02T08:00:00Z"}',
        },
        {
            "location": "chargy: page 0, item 0, evses[2]",
            "reason": "the EVSE has neither `uid` nor `evse_id`, so it cannot be identified",
            "record": '{"uid": "", "evse_id": "  ", "status": "AVAILABLE", "connectors": [{"id": "1", '
            '"standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE", "max_voltage": 230, '
            '"max_amperage": 32, "max_electric_power": 22000, "last_updated": "2024-06-02T08:00:00Z"}], '
            '"last_updated": "2024-06-02T08:00:00Z"}',
        },
    ]
    assert conformance_of(cleaned)["rejects"] == 2


def test_values_that_are_not_json_objects_are_rejected_and_the_rest_of_the_feed_is_kept():
    cleaned = clean(
        feed(
            [
                ["a", "list"],
                location("L1", evse("E1", connector(), None, "plug"), 42, evse("E2", connectors="T2")),
                "Olé",
                None,
                location("L2", evses={"uid": "E9"}),
                location("L3", evse("E3")),
            ]
        )
    )
    assert list(cleaned.locations["location_id"]) == ["L1", "L2", "L3"]
    assert list(cleaned.evses["uid"]) == ["E1", "E2", "E3"]
    assert list(cleaned.connectors["evse"]) == ["E1", "E3"]
    assert cleaned.rejects.to_dict("records") == [
        {"location": "chargy: page 0, item 0", "reason": "a location must be a JSON object, not an array",
         "record": '["a", "list"]'},
        {"location": "chargy: page 0, item 1, evses[1]",
         "reason": "an EVSE must be a JSON object, not a number", "record": "42"},
        {"location": "chargy: page 0, item 2", "reason": "a location must be a JSON object, not a string",
         "record": '"Olé"'},
        {"location": "chargy: page 0, item 3", "reason": "a location must be a JSON object, not null",
         "record": "null"},
        {"location": "chargy: page 0, item 4", "reason": "`evses` must be a JSON array, not an object",
         "record": '{"uid": "E9"}'},
        # Connectors are read once the EVSE is known to be kept (not removed, not a stale copy).
        {"location": "chargy: page 0, item 1, evses[0], connectors[1]",
         "reason": "a connector must be a JSON object, not null", "record": "null"},
        {"location": "chargy: page 0, item 1, evses[0], connectors[2]",
         "reason": "a connector must be a JSON object, not a string", "record": '"plug"'},
        {"location": "chargy: page 0, item 1, evses[2]",
         "reason": "`connectors` must be a JSON array, not a string", "record": '"T2"'},
    ]  # fmt: skip
    row = conformance_of(cleaned)
    assert (row["locations"], row["evses"], row["rejects"], row["no_power_evses"]) == (3, 3, 8, 1)


# --- power -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "power_w", "kw"),
    [
        ({"max_electric_power": 7400}, 7400.0, "7.4"),
        ({"max_electric_power": "22000"}, 22000.0, "22"),
        ({"max_electric_power": DROP, "power_type": "AC_3_PHASE"}, 22080.0, "22.1"),  # 230 V × 32 A × 3
        ({"max_electric_power": DROP, "power_type": "AC_3_PHASE", "max_amperage": 16}, 11040.0, "11"),
        ({"max_electric_power": DROP, "power_type": "AC_2_PHASE"}, 14720.0, "14.7"),
        ({"max_electric_power": DROP, "power_type": "AC_2_PHASE_SPLIT", "max_voltage": 240}, 15360.0, "15.4"),
        ({"max_electric_power": DROP, "power_type": "AC_1_PHASE"}, 7360.0, "7.4"),
        ({"max_electric_power": None, "power_type": "DC", "max_voltage": 500, "max_amperage": 300},
         150000.0, "150"),
        ({"max_electric_power": 0, "power_type": "AC_1_PHASE"}, 7360.0, "7.4"),  # 0 is no value
        ({"max_electric_power": -50, "power_type": "AC_1_PHASE"}, 7360.0, "7.4"),
        ({"max_electric_power": "0", "power_type": "AC_1_PHASE", "max_voltage": "230",
          "max_amperage": "32.0"}, 7360.0, "7.4"),
        ({"max_electric_power": DROP, "power_type": "ac_3_phase"}, 22080.0, "22.1"),
        ({"max_electric_power": DROP, "power_type": DROP}, 7360.0, "7.4"),  # no power type: one phase
        ({"max_electric_power": DROP, "power_type": "AC_3_PHASE", "max_voltage": "23O"}, NAN, ""),
        ({"max_electric_power": DROP, "max_amperage": DROP}, NAN, ""),
        ({"max_electric_power": "fast", "max_voltage": None, "max_amperage": None}, NAN, ""),
        ({"max_electric_power": True, "max_voltage": True, "max_amperage": True}, NAN, ""),
        ({"max_electric_power": 0, "max_voltage": 0}, NAN, ""),
        ({"max_electric_power": "2e12"}, 22080.0, "22.1"),  # beyond any reading: ignored
        ({"max_electric_power": " 7.45e3 "}, 7450.0, "7.5"),
    ],
)  # fmt: skip
def test_connector_power_and_evse_max_power_kw(changes, power_w, kw):
    cleaned = clean(feed([location("L1", evse("E1", connector(**changes)))]))
    assert cleaned.evses["max_power_kw"].tolist() == [kw]
    assert cleaned.connectors["power_w"].tolist() == pytest.approx([power_w], nan_ok=True)
    assert conformance_of(cleaned)["no_power_evses"] == (kw == "")


@pytest.mark.parametrize(
    ("watts", "text"),
    [
        (7400, "7.4"),
        (22000, "22"),
        (22080, "22.1"),
        (150000, "150"),
        (7450, "7.5"),  # half up
        (7449, "7.4"),
        (7250, "7.3"),  # float's round(7.25, 1) gives 7.2 (half to even)
        (7350, "7.4"),  # float's round(7.35, 1) gives 7.3 (7.35 is 7.3499… in binary)
        (3650, "3.7"),
        (50, "0.1"),
        (1000, "1"),
        (350000, "350"),
        (None, ""),
    ],
)
def test_kw_text_rounds_half_up_and_drops_trailing_zeros(watts, text):
    assert kw_text(None if watts is None else Decimal(watts)) == text


def test_python_round_would_have_got_the_half_cases_wrong():
    assert (round(7.25, 1), round(7.35, 1)) == (7.2, 7.3)  # why kw_text uses Decimal half-up


def test_evse_power_is_its_most_powerful_connector_and_standards_are_distinct_and_sorted():
    connectors = [
        connector(id="1", standard="IEC_62196_T2", power_type="AC_3_PHASE", max_electric_power=22000),
        connector(id="2", standard="CHADEMO", power_type="DC", max_electric_power=50000),
        connector(id="3", standard="IEC_62196_T2_COMBO", power_type="DC", max_electric_power="150000"),
        connector(id="4", standard="IEC_62196_T2", power_type="AC_3_PHASE", max_electric_power="fast",
                  max_voltage=DROP),
        connector(id="5", standard=DROP, power_type=DROP, max_electric_power=DROP, max_voltage=DROP),
    ]  # fmt: skip
    cleaned = clean(feed([location("L1", evse("E1", *connectors))]))
    assert cleaned.evses[["connector_standards", "power_types", "max_power_kw"]].to_dict("records") == [
        {
            "connector_standards": "CHADEMO+IEC_62196_T2+IEC_62196_T2_COMBO",
            "power_types": "AC_3_PHASE+DC",
            "max_power_kw": "150",
        }
    ]
    assert cleaned.connectors["power_w"].tolist() == pytest.approx(
        [22000.0, 50000.0, 150000.0, NAN, NAN], nan_ok=True
    )
    assert conformance_of(cleaned)["no_power_evses"] == 0


def test_an_evse_without_connectors_has_no_power():
    cleaned = clean(feed([location("L1", evse("E1", connectors=[]), evse("E2", connectors=DROP))]))
    assert (
        cleaned.evses[["connector_standards", "power_types", "max_power_kw"]].values.tolist()
        == [["", "", ""]] * 2
    )
    row = conformance_of(cleaned)
    assert (row["no_power_evses"], row["missing_evse_connectors"]) == (2, 2)


# --- postcodes, coordinates, statuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postal_code", "expected"),
    [
        (" tw6  2rq ", "TW6 2RQ"),
        ("sw1a1aa", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("", ""),
        (None, ""),
        (DROP, ""),
    ],
)
def test_postcode_is_normalised_and_missing_is_empty(postal_code, expected):
    cleaned = clean(feed([location("L1", evse("E1"), postal_code=postal_code)]))
    assert cleaned.locations["postcode"].tolist() == cleaned.evses["postcode"].tolist() == [expected]
    assert conformance_of(cleaned)["no_postcode"] == (expected == "")


@pytest.mark.parametrize(
    ("coordinates", "latitude", "longitude", "count"),
    [
        ({"latitude": "51.470000", "longitude": "-0.454000"}, 51.47, -0.454, None),
        ({"latitude": 51.47, "longitude": -0.454}, 51.47, -0.454, None),
        ({"latitude": " 55.9533 ", "longitude": "-3.1883"}, 55.9533, -3.1883, None),  # Edinburgh
        ({"latitude": "54.5973", "longitude": "-5.9301"}, 54.5973, -5.9301, None),  # Belfast
        ({"latitude": "-0.454000", "longitude": "51.470000"}, -0.454, 51.47, "swapped_coordinates"),
        ({"latitude": "53.480000", "longitude": "2.240000"}, 53.48, 2.24, "outside_uk"),  # lost minus sign
        ({"latitude": "48.856600", "longitude": "2.352200"}, 48.8566, 2.3522, "outside_uk"),  # Paris
        ({"latitude": "0", "longitude": "0"}, 0.0, 0.0, "outside_uk"),
        ({"latitude": "51,47", "longitude": "-0,454"}, NAN, NAN, "no_coordinates"),
        ({"latitude": "north", "longitude": "-0.454"}, NAN, -0.454, "no_coordinates"),
        ({"latitude": "NaN", "longitude": "inf"}, NAN, NAN, "no_coordinates"),
        ({"latitude": "51.47"}, 51.47, NAN, "no_coordinates"),
        ({}, NAN, NAN, "no_coordinates"),
        (None, NAN, NAN, "no_coordinates"),
        (DROP, NAN, NAN, "no_coordinates"),
        ("51.47,-0.454", NAN, NAN, "no_coordinates"),
    ],
)
def test_coordinates_become_floats_and_are_checked_against_the_uk(coordinates, latitude, longitude, count):
    cleaned = clean(feed([location("L1", evse("E1"), coordinates=coordinates)]))
    expected = pytest.approx([latitude, longitude], nan_ok=True)
    for frame in (cleaned.locations, cleaned.evses):
        assert frame[["latitude", "longitude"]].iloc[0].tolist() == expected
    checks = ("no_coordinates", "outside_uk", "swapped_coordinates")
    row = conformance_of(cleaned)
    assert {name: row[name] for name in checks} == {name: int(name == count) for name in checks}
    assert row["missing_location_coordinates"] == int(coordinates in (None, DROP, {}))


def test_statuses_are_upper_cased_and_non_ocpi_ones_kept_and_reported():
    statuses = ["available", "WORKING", "WORKING", "working", "OUTOFORDER", DROP, " charging "]
    cleaned = clean(feed([location("L1", *(evse(f"E{i}", status=s) for i, s in enumerate(statuses)))]))
    assert cleaned.evses["status"].tolist() == [
        "AVAILABLE", "WORKING", "WORKING", "WORKING", "OUTOFORDER", "", "CHARGING"
    ]  # fmt: skip
    row = conformance_of(cleaned)
    assert (row["unknown_statuses"], row["statuses_not_upper_case"], row["missing_evse_status"]) == (
        "WORKING: 3",
        3,
        1,
    )


def test_several_unknown_statuses_are_listed_by_name():
    cleaned = clean(feed([location("L1", evse("A", status="Working"), evse("B", status="FAULTED"))]))
    assert conformance_of(cleaned)["unknown_statuses"] == "FAULTED: 1, WORKING: 1"


def test_evse_last_updated_falls_back_to_its_location():
    cleaned = clean(
        feed([location("L1", evse("E1", last_updated=DROP), evse("E2"), last_updated="2023-11-30T23:59:59Z")])
    )
    assert cleaned.evses["last_updated"].tolist() == ["2023-11-30T23:59:59Z", "2024-06-02T08:00:00Z"]
    assert conformance_of(cleaned)["missing_evse_last_updated"] == 1


def test_text_fields_sent_as_numbers_are_kept_as_text():
    cleaned = clean(feed([location(1012, evse(3256, connector(id=1)), address=None)]))
    assert cleaned.evses[["location_id", "uid"]].values.tolist() == [["1012", "3256"]]
    assert cleaned.connectors["connector_id"].tolist() == ["1"]
    assert cleaned.locations["address"].tolist() == [""]


# --- conformance ------------------------------------------------------------------------------------------


def messy_feed():
    no_id_swapped = location(
        DROP,
        evse(DROP, connector(standard="CHADEMO", format="CABLE", power_type="DC", max_voltage="abc",
                             max_amperage=DROP, max_electric_power=DROP, last_updated=DROP),
             evse_id="GB*CGY*E3", status="WORKING"),
        postal_code=DROP,
        time_zone=DROP,
        coordinates={"latitude": "-0.120000", "longitude": "51.500000"},
    )  # fmt: skip
    return feed(
        [location("L1", evse("E1")), location("L2", evse("E9"), publish=False), "x"],
        [location("L1", evse("E1", status="charging"), evse("E2", status="removed")), no_id_swapped,
         location("L5", country_code=DROP, coordinates={"latitude": "48.856600", "longitude": "2.352200"})],
    )  # fmt: skip


def test_conformance_counts_a_messy_feed_exactly_and_lists_every_operator():
    cleaned = clean(messy_feed(), feed(operator="quiet", name="Quiet Ltd"))
    assert cleaned.conformance["operator"].tolist() == ["chargy", "quiet"]
    assert nonzero(conformance_of(cleaned)) == {
        "operator_name": "char.gy",
        "locations": 4,  # L1 (twice), L2, the one without id, L5
        "published_locations": 3,
        "unpublished_locations": 1,
        "duplicate_locations": 1,
        "evses": 2,  # E1 (L1's later copy, where E2 is removed), GB*CGY*E3
        "removed_evses": 1,
        "duplicate_evses": 1,
        "rejects": 1,
        "missing_location_country_code": 1,
        "missing_location_id": 1,
        "missing_location_time_zone": 1,
        "missing_evse_uid": 1,
        "missing_connector_max_amperage": 1,
        "missing_connector_last_updated": 1,
        "missing_connector_max_electric_power": 1,
        "unknown_statuses": "WORKING: 1",
        "statuses_not_upper_case": 1,
        "no_postcode": 1,
        "outside_uk": 1,
        "swapped_coordinates": 1,
        "no_power_evses": 1,
    }
    assert nonzero(conformance_of(cleaned, "quiet")) == {"operator_name": "Quiet Ltd"}


def test_every_missing_required_field_is_counted_under_its_own_column():
    bare = {"publish": True, "evses": [{"uid": "E1", "connectors": [{}]}]}
    cleaned = clean(feed([bare]))
    row = conformance_of(cleaned)
    missing = {name: value for name, value in row.items() if name.startswith("missing_")}
    assert missing == {
        "missing_location_country_code": 1,
        "missing_location_party_id": 1,
        "missing_location_id": 1,
        "missing_location_publish": 0,
        "missing_location_address": 1,
        "missing_location_city": 1,
        "missing_location_country": 1,
        "missing_location_coordinates": 1,
        "missing_location_time_zone": 1,
        "missing_location_last_updated": 1,
        "missing_evse_uid": 0,
        "missing_evse_status": 1,
        "missing_evse_connectors": 0,
        "missing_evse_last_updated": 1,
        "missing_connector_id": 1,
        "missing_connector_standard": 1,
        "missing_connector_format": 1,
        "missing_connector_power_type": 1,
        "missing_connector_max_voltage": 1,
        "missing_connector_max_amperage": 1,
        "missing_connector_last_updated": 1,
        "missing_connector_max_electric_power": 1,
    }


def test_conformance_markdown_summarises_each_operator_and_escapes_values():
    cleaned = clean(messy_feed(), feed(operator="quiet_one", name="Quiet *Ltd* [beta]"))
    assert conformance_markdown(cleaned.conformance) == (
        "### char\\.gy (chargy)\n"
        "- Locations: 4 (3 published, 1 unpublished, 1 served twice, 0 in another country left out)\n"
        "- EVSEs: 2 (1 removed left out, 1 served twice, 0 with a uid also used at another location, "
        "1 without power)\n"
        "- Stale status (last updated over 30 days before the day): 0 EVSEs (unknown)\n"
        "- Rejected values: 1\n"
        "- Missing OCPI fields: `location.country_code` 1, `location.id` 1, `location.time_zone` 1, "
        "`evse.uid` 1, `connector.max_amperage` 1, `connector.last_updated` 1, "
        "`connector.max_electric_power` 1\n"
        "- OCPI 2.1.1 names read: `type` for 0 locations, `voltage`/`amperage` for 0 connectors\n"
        "- Statuses not in OCPI: WORKING: 1; not in upper case: 1; read as OCPI's spelling: 0\n"
        "- Locations without coordinates: 0, without postcode: 1, outside the UK: 1, "
        "latitude and longitude swapped: 1\n"
        "\n"
        "### Quiet \\*Ltd\\* \\[beta\\] (quiet\\_one)\n"
        "- Locations: 0 (0 published, 0 unpublished, 0 served twice, 0 in another country left out)\n"
        "- EVSEs: 0 (0 removed left out, 0 served twice, 0 with a uid also used at another location, "
        "0 without power)\n"
        "- Stale status (last updated over 30 days before the day): 0 EVSEs (unknown)\n"
        "- Rejected values: 0\n"
        "- Missing OCPI fields: none\n"
        "- OCPI 2.1.1 names read: `type` for 0 locations, `voltage`/`amperage` for 0 connectors\n"
        "- Statuses not in OCPI: none; not in upper case: 0; read as OCPI's spelling: 0\n"
        "- Locations without coordinates: 0, without postcode: 0, outside the UK: 0, "
        "latitude and longitude swapped: 0"
    )
    assert conformance_markdown(clean().conformance) == "_No feeds._"


# --- outputs ----------------------------------------------------------------------------------------------


def test_charge_point_counts_has_the_csv_header_and_sorts_the_keys_as_text():
    t2 = connector(max_electric_power=7400)
    fast = connector(standard="IEC_62196_T2_COMBO", power_type="DC", max_electric_power=150000)
    cleaned = clean(
        feed(
            [
                location("L1", evse("A", t2), evse("B", t2), evse("C", fast), evse("D", connector())),
                location("L2", evse("E", t2, last_updated="2024-05-31T23:00:00Z"), parking_type=DROP,
                         postal_code="b1 1aa"),
            ]
        ),
        feed([location("L9", evse("Z", t2, last_updated=DROP), last_updated=DROP)], operator="zap",
             name="Zap"),
    )  # fmt: skip
    counts = charge_point_counts(cleaned.evses)
    ChargePointCounts.validate(counts)
    assert tuple(counts.columns) == CSV_HEADER
    assert counts.dtypes["Count"] == "int64"
    assert counts.values.tolist() == [
        ["Zap", "ON_STREET", "IEC_62196_T2", "7.4", "TW6 2RQ", "", 1],
        ["char.gy", "", "IEC_62196_T2", "7.4", "B1 1AA", "2024-05", 1],
        ["char.gy", "ON_STREET", "IEC_62196_T2", "22", "TW6 2RQ", "2024-06", 1],
        ["char.gy", "ON_STREET", "IEC_62196_T2", "7.4", "TW6 2RQ", "2024-06", 2],
        ["char.gy", "ON_STREET", "IEC_62196_T2_COMBO", "150", "TW6 2RQ", "2024-06", 1],
    ]
    assert counts["Count"].sum() == len(cleaned.evses)


def test_charge_point_counts_of_no_evses_is_an_empty_frame_with_the_header():
    counts = charge_point_counts(clean().evses)
    assert tuple(counts.columns) == CSV_HEADER and counts.empty
    ChargePointCounts.validate(counts)


def test_status_by_operator_counts_evses_per_operator_and_status():
    cleaned = clean(
        feed(
            [
                location(
                    "L1", evse("A", status="CHARGING"), evse("B"), evse("C"), evse("D", status="OUTOFORDER")
                )
            ]
        ),
        feed([location("L1", evse("A", status="inoperative"))], operator="acme", name="ACME"),
    )
    counts = status_by_operator(cleaned.evses)
    StatusByOperator.validate(counts)
    assert counts.values.tolist() == [
        ["acme", "INOPERATIVE", 1],
        ["chargy", "AVAILABLE", 2],
        ["chargy", "CHARGING", 1],
        ["chargy", "OUTOFORDER", 1],
    ]
    assert status_by_operator(clean().evses).empty


def by_status(rows):
    return pd.DataFrame(rows, columns=["operator", "status", "evses"])


def test_out_of_order_history_and_week_over_week():
    days = {
        "2024-06-08": by_status([["chargy", "AVAILABLE", 6], ["chargy", "OUTOFORDER", 1],
                                 ["chargy", "INOPERATIVE", 1], ["newco", "AVAILABLE", 4]]),
        "2024-06-01": by_status([["chargy", "AVAILABLE", 9], ["chargy", "OUTOFORDER", 1],
                                 ["gone", "UNKNOWN", 2], ["gone", "INOPERATIVE", 2]]),
    }  # fmt: skip
    history = out_of_order_history(days)
    OutOfOrderHistory.validate(history)
    assert list(history.columns) == ["day", "operator", "evses", "out_of_order", "out_of_order_share"]
    assert history.values.tolist() == [
        ["2024-06-01", "chargy", 10, 1, 0.1],
        ["2024-06-01", "gone", 4, 2, 0.5],
        ["2024-06-08", "chargy", 8, 2, 0.25],
        ["2024-06-08", "newco", 4, 0, 0.0],
    ]
    assert history.dtypes.astype(str).tolist() == ["object", "object", "int64", "int64", "float64"]
    change = out_of_order_week_over_week(history, day="2024-06-08", week_before="2024-06-01")
    OutOfOrderWeekOverWeek.validate(change)
    pd.testing.assert_frame_equal(
        change,
        pd.DataFrame(
            {
                "operator": ["chargy", "gone", "newco"],
                "week_before": [0.1, 0.5, NAN],
                "today": [0.25, NAN, 0.0],
                "change": [0.15, NAN, NAN],
            }
        ),
    )


def test_out_of_order_history_of_no_days_and_week_over_week_without_the_days():
    history = out_of_order_history({})
    OutOfOrderHistory.validate(history)
    assert history.empty and list(history.columns) == list(OutOfOrderHistory.to_schema().columns)
    history = out_of_order_history({"2024-06-08": by_status([["chargy", "OUTOFORDER", 2]])})
    change = out_of_order_week_over_week(history, day="2024-06-08", week_before="2024-06-01")
    assert change.to_dict("list")["operator"] == ["chargy"]
    shares = change[["week_before", "today", "change"]].iloc[0].tolist()
    assert shares == pytest.approx([NAN, 1.0, NAN], nan_ok=True)
    empty = out_of_order_week_over_week(history, day="2024-07-01", week_before="2024-06-24")
    OutOfOrderWeekOverWeek.validate(empty)
    assert empty.empty
