import math
from decimal import Decimal

import pytest

from pipeline.sources.uk_ocpi import schema
from pipeline.sources.uk_ocpi.schema import (
    CSV_HEADER,
    MISSING_COLUMNS,
    OCPI_STATUSES,
    REQUIRED_FIELDS,
    Conformance,
    GeoPoint,
    as_decimal,
    as_point,
    as_publish,
    as_text,
)

TABLES = [
    schema.Locations,
    schema.Evses,
    schema.Connectors,
    schema.Conformance,
    schema.ChargePointCounts,
    schema.StatusByOperator,
    schema.OutOfOrderHistory,
    schema.OutOfOrderWeekOverWeek,
]


def test_statuses_and_required_fields_are_ocpi_2_2_1s():
    # mod_locations.asciidoc of OCPI 2.2.1: the Status enum, and the fields of cardinality 1 (or +).
    assert OCPI_STATUSES == (
        "AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED",
        "UNKNOWN",
    )  # fmt: skip
    assert REQUIRED_FIELDS == {
        "location": ("country_code", "party_id", "id", "publish", "address", "city", "country", "coordinates",
                     "time_zone", "last_updated"),
        "evse": ("uid", "status", "connectors", "last_updated"),
        "connector": ("id", "standard", "format", "power_type", "max_voltage", "max_amperage",
                      "last_updated"),
    }  # fmt: skip


def test_conformance_has_one_missing_column_per_checked_field_in_spec_order():
    columns = [name for name in Conformance.to_schema().columns if name.startswith("missing_")]
    assert columns == list(MISSING_COLUMNS)
    assert columns[-1] == "missing_connector_max_electric_power"  # optional in OCPI, counted all the same
    assert len(columns) == 10 + 4 + 7 + 1


def test_conformance_columns_beside_the_missing_ones_in_order():
    columns = [name for name in Conformance.to_schema().columns if not name.startswith("missing_")]
    assert columns == [
        "operator", "operator_name", "locations", "published_locations", "unpublished_locations",
        "duplicate_locations", "non_uk_locations", "evses", "removed_evses", "duplicate_evses",
        "reused_evse_uids", "rejects", "unknown_statuses", "statuses_not_upper_case", "statuses_mapped",
        "ocpi_211_parking_types", "ocpi_211_powers", "no_coordinates", "no_postcode", "outside_uk",
        "swapped_coordinates", "no_power_evses", "stale_evses", "stale_evses_share",
    ]  # fmt: skip
    dtypes = schema.dtypes(Conformance)
    assert (dtypes["stale_evses"], dtypes["stale_evses_share"], dtypes["unknown_statuses"]) == (
        "int64", "float64", "str",
    )  # fmt: skip


def test_the_records_are_re_exported_by_the_contract():
    from pipeline.sources.uk_ocpi import records

    assert (schema.LocationRecord, schema.as_text, schema.OCPI_STATUSES) == (
        records.LocationRecord, records.as_text, records.OCPI_STATUSES,
    )  # fmt: skip


def test_csv_header():
    assert CSV_HEADER == (
        "Operator",
        "ParkingType",
        "Connectors",
        "MaxPowerKW",
        "PostCode",
        "MonthUpdated",
        "Count",
    )


@pytest.mark.parametrize("model", TABLES, ids=lambda model: model.__name__)
def test_every_table_is_strict_ordered_and_documents_every_column(model):
    table = model.to_schema()
    assert (table.strict, table.ordered) == (True, True)
    assert [name for name, column in table.columns.items() if not column.description] == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("230", Decimal("230")),
        (" 7.4e3 ", Decimal("7400")),
        (230, Decimal("230")),
        (22.5, Decimal("22.5")),
        (Decimal("51.47"), Decimal("51.47")),
        ("-0.454000", Decimal("-0.454000")),
        ("1e9", Decimal("1e9")),
        ("1.000000001e9", None),
        ("NaN", None),
        ("inf", None),
        (math.nan, None),
        ("51,47", None),
        ("", None),
        (True, None),
        (None, None),
        ([230], None),
    ],
)
def test_numbers_are_read_from_numbers_and_strings(raw, expected):
    assert as_decimal(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" LOC1 ", "LOC1"), (1012, "1012"), (1.5, "1.5"), (True, "true"), (None, ""), ({"a": 1}, ""), ([], "")],
)
def test_text_is_read_from_strings_and_numbers(raw, expected):
    assert as_text(raw) == expected


def test_points_and_publish():
    assert as_point({"latitude": "51.47", "longitude": -0.454}) == GeoPoint(51.47, -0.454)
    assert all(math.isnan(value) for value in as_point("51.47,-0.454"))
    assert [as_publish(value) for value in (False, "false", " FALSE ", True, None, "no", 0)] == [
        False, False, False, True, True, True, True,
    ]  # fmt: skip
