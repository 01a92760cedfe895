"""The real-feed variants of the fake OCPI data: each shape exactly, and what the cleaning makes of it.

The base is the clean locations of one ``make_locations`` feed (every dirty case left out), so each count
below follows from the variant alone.
"""

import json
from collections import Counter

import pandas as pd
import pytest

from pipeline.sandbox._ocpi_data import PHASES, location_cases, make_locations
from pipeline.sandbox._ocpi_variants import (
    LOCATION_TYPES_211,
    VARIANTS,
    abroad,
    apply,
    loose_timestamps,
    null_uids,
    numeric_coordinates,
    numeric_ids,
    ocpi_211,
    per_site_uids,
    power_quirks,
    real_statuses,
    without_location_ids,
    without_party,
)
from pipeline.sources.uk_ocpi.records import as_instant
from pipeline.sources.uk_ocpi.transforms import Cleaned, FeedLocations, clean_feeds

OPERATOR, COUNT, SEED, DAY = "sandbox_variants", 60, 7, "2025-06-01"


@pytest.fixture(scope="module")
def base() -> list[dict]:
    cases = location_cases(OPERATOR, COUNT, seed=SEED)
    return [raw for index, raw in enumerate(make_locations(OPERATOR, COUNT, seed=SEED)) if index not in cases]


def evses_of(locations):
    return [evse for location in locations for evse in location["evses"]]


def connectors_of(locations):
    return [connector for evse in evses_of(locations) for connector in evse["connectors"]]


def cleaned(locations) -> Cleaned:
    items = [(f"page 0, item {index}", raw) for index, raw in enumerate(locations)]
    return clean_feeds([FeedLocations(OPERATOR, "Variants Ltd", items)], day=DAY)


def conformance(locations) -> dict:
    return cleaned(locations).conformance.iloc[0].to_dict()


def test_the_base_is_32_clean_locations_with_77_evses_and_96_connectors(base):
    assert (len(base), len(evses_of(base)), len(connectors_of(base))) == (32, 77, 96)
    row = conformance(base)
    assert (row["evses"], row["duplicate_evses"], row["reused_evse_uids"], row["rejects"]) == (77, 0, 0, 0)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_is_deterministic_json_and_leaves_its_input_unchanged(base, name):
    before = json.dumps(base)
    first, second = VARIANTS[name](base), VARIANTS[name](base)
    assert first == second and json.dumps(first) == json.dumps(second)
    assert json.dumps(base) == before
    assert first != base


def test_ocpi_211_has_2_1_1_names_only_and_power_is_volts_times_amps(base):
    variant = ocpi_211(base)
    connectors = connectors_of(variant)
    assert {
        key for connector in connectors for key in connector if key.startswith("max_") or key == "tariff_ids"
    } == set()
    assert [(c["voltage"], c["amperage"]) for c in connectors] == [
        (c["max_voltage"], c["max_amperage"]) for c in connectors_of(base)
    ]
    assert all(isinstance(c["tariff_id"], str) for c in connectors)
    assert all(
        "parking_type" not in location and location["type"] in LOCATION_TYPES_211 for location in variant
    )
    result = cleaned(variant)
    expected = [c["max_voltage"] * c["max_amperage"] * PHASES[c["power_type"]] for c in connectors_of(base)]
    assert result.connectors["power_w"].tolist() == expected
    types = [raw["parking_type"] for raw in base]
    assert result.locations["parking_type"].tolist() == [
        "" if kind == "ALONG_MOTORWAY" else kind for kind in types
    ]
    row = conformance(variant)
    assert (row["ocpi_211_powers"], row["ocpi_211_parking_types"], row["no_power_evses"]) == (96, 32, 0)
    assert Counter(types)["ALONG_MOTORWAY"] == 7


def test_per_site_uids_keep_every_evse_where_operator_and_uid_kept_four(base):
    variant = per_site_uids(base)
    assert [[evse["uid"] for evse in raw["evses"]] for raw in variant[:3]] == [
        ["1", "2", "3", "4"],
        ["1", "2"],
        ["1"],
    ]
    assert len({evse["uid"] for evse in evses_of(variant)}) == 4  # all an operator + uid key could tell apart
    result = cleaned(variant)
    assert len(result.evses) == 77
    sites = Counter(evse["uid"] for evse in evses_of(variant))
    assert (sites["1"], sites["2"], sites["3"], sites["4"]) == (32, 23, 13, 9)
    assert conformance(variant)["reused_evse_uids"] == 77  # every uid is used at another site
    pd.testing.assert_frame_equal(result.evses.drop(columns="uid"), cleaned(base).evses.drop(columns="uid"))


def test_numeric_ids_are_json_numbers_read_back_as_the_same_text(base):
    variant = numeric_ids(base)
    assert (variant[0]["id"], variant[0]["evses"][0]["uid"], variant[0]["evses"][0]["evse_id"]) == (
        96554, 965541, 965541,
    )  # fmt: skip
    assert all(isinstance(c["id"], int) for c in connectors_of(variant))
    result = cleaned(variant)
    assert result.locations["location_id"].tolist() == [str(raw["id"]) for raw in variant]
    assert result.evses["uid"].tolist() == [str(evse["uid"]) for evse in evses_of(variant)]
    assert result.connectors["connector_id"].tolist() == [str(c["id"]) for c in connectors_of(variant)]
    assert conformance(variant)["duplicate_evses"] == 0


def test_null_uids_leave_the_evse_id_to_identify_each_evse(base):
    variant = null_uids(base)
    assert {evse["uid"] for evse in evses_of(variant)} == {None}
    result = cleaned(variant)
    assert result.evses["uid"].tolist() == [""] * 77
    assert result.evses["evse_id"].tolist() == [evse["evse_id"] for evse in evses_of(base)]
    assert result.connectors["evse"].tolist() == [
        e["evse_id"] for e in evses_of(base) for _ in e["connectors"]
    ]
    assert conformance(variant)["missing_evse_uid"] == 77


def test_without_location_ids_every_evse_is_kept_by_operator_and_uid(base):
    result = cleaned(without_location_ids(base))
    assert result.locations["location_id"].tolist() == [""] * 32
    assert len(result.evses) == 77
    row = conformance(without_location_ids(base))
    assert (row["missing_location_id"], row["duplicate_locations"], row["duplicate_evses"]) == (32, 0, 0)


def test_without_party_only_the_party_is_missing(base):
    variant = without_party(base)
    assert all(
        "country_code" not in raw and "party_id" not in raw and raw["operator"] is None for raw in variant
    )
    pd.testing.assert_frame_equal(cleaned(variant).evses, cleaned(base).evses)
    row = conformance(variant)
    assert (row["missing_location_country_code"], row["missing_location_party_id"]) == (32, 32)


def test_real_statuses_are_spelled_in_turn_and_read_back(base):
    variant = real_statuses(base)
    sent = [evse["status"] for evse in evses_of(variant)]
    assert Counter(sent) == {  # the base's 50 AVAILABLE, 14 CHARGING, 4 OUTOFORDER, 2 INOPERATIVE, in turn
        "AVAILABLE": 17, "available": 17, "WORKING": 16, "charging": 5, "preparing": 5, "CHARGING": 4,
        "OUT_OF_ORDER": 2, "FAULTED": 1, "OUTOFORDER": 1, "inoperative": 1, "INOPERATIVE": 1,
        "RESERVED": 4, "UNKNOWN": 2, "PLANNED": 1,
    }  # fmt: skip
    row = conformance(variant)
    assert (row["unknown_statuses"], row["statuses_not_upper_case"], row["statuses_mapped"]) == (
        "FAULTED: 1, PREPARING: 5, WORKING: 16", 28, 2,
    )  # fmt: skip
    statuses = Counter(cleaned(variant).evses["status"])
    assert (statuses["OUTOFORDER"], statuses["INOPERATIVE"], statuses["CHARGING"]) == (3, 2, 9)


def test_numeric_coordinates_are_numbers_equal_to_the_strings(base):
    variant = numeric_coordinates(base)
    points = [raw["coordinates"] for raw in variant]
    assert all(
        isinstance(point["latitude"], float) and isinstance(point["longitude"], float) for point in points
    )
    pd.testing.assert_frame_equal(cleaned(variant).locations, cleaned(base).locations)


def test_loose_timestamps_are_the_same_instants_written_three_ways(base):
    variant = loose_timestamps(base)
    stamps = [raw["last_updated"] for raw in variant[:3]]
    assert stamps == [
        base[0]["last_updated"].removesuffix("Z"),
        base[1]["last_updated"].removesuffix("Z") + "+00:00",
        base[2]["last_updated"].removesuffix("Z") + ".000Z",
    ]
    before = [raw["last_updated"] for raw in base] + [evse["last_updated"] for evse in evses_of(base)]
    after = [raw["last_updated"] for raw in variant] + [evse["last_updated"] for evse in evses_of(variant)]
    assert [as_instant(stamp) for stamp in after] == [as_instant(stamp) for stamp in before]
    row, original = conformance(variant), conformance(base)
    assert (row["stale_evses"], original["stale_evses"]) == (44, 44)


def test_power_quirks_leave_every_power_as_sent(base):
    variant = power_quirks(base)
    connectors = connectors_of(variant)
    quirks = Counter(
        "max_amperage 0" if c["max_amperage"] == 0 else "220 V DC" if c["max_voltage"] == 220 else
        "CCS2" if c["standard"] == "CCS2" else "T2 combo AC" if c["standard"] == "IEC_62196_T2_COMBO" and
        c["power_type"] == "AC_3_PHASE" else "as sent"
        for c in connectors
    )  # fmt: skip
    assert quirks == {"max_amperage 0": 52, "220 V DC": 15, "CCS2": 15, "T2 combo AC": 10, "as sent": 4}
    result = cleaned(variant)
    assert result.evses["max_power_kw"].tolist() == cleaned(base).evses["max_power_kw"].tolist()
    assert result.connectors["power_w"].tolist() == [c["max_electric_power"] for c in connectors]


def test_abroad_adds_one_australian_site_that_the_uk_outputs_leave_out(base):
    variant = abroad(base)
    site = variant[-1]
    assert (len(variant), site["country"], site["id"], site["coordinates"]) == (
        33, "AUS", f"{base[0]['id']}-AUS", {"latitude": "-33.868800", "longitude": "151.209300"},
    )  # fmt: skip
    result, original = cleaned(variant), cleaned(base)
    for name in ("locations", "evses", "connectors"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(original, name))
    assert result.rejects["reason"].tolist() == [
        f"location '{site['id']}' is in 'AUS', not the UK: left out of the UK outputs"
    ]
    assert conformance(variant)["non_uk_locations"] == 1


def test_apply_chains_variants_like_one_old_back_office_and_refuses_unknown_names(base):
    variant = apply(base, "ocpi_211", "per_site_uids", "numeric_ids", "real_statuses", "abroad")
    assert variant == abroad(real_statuses(numeric_ids(per_site_uids(ocpi_211(base)))))
    row = conformance(variant)
    assert (row["evses"], row["reused_evse_uids"], row["non_uk_locations"], row["ocpi_211_powers"]) == (
        77, 77, 1, 96,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"unknown variants \['v3'\]; expected some of \['ocpi_211', "):
        apply(base, "ocpi_211", "v3")
