from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pipeline.sources.uk_ocpi.records import (
    ConnectorRecord,
    EvseRecord,
    LocationRecord,
    as_id,
    as_instant,
    as_status,
    is_uk_country,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (143, "143"),
        (143.0, "143"),  # what a float-reading JSON decoder gives for `143.0`
        (Decimal("143"), "143"),
        (Decimal("143.0"), "143"),
        (Decimal("1E+2"), "100"),
        (1.5, "1.5"),
        (Decimal("1.50"), "1.50"),
        (0, "0"),
        (-7.0, "-7"),
        (" GB*CGY*E1 ", "GB*CGY*E1"),
        ("143.0", "143.0"),  # text stays as sent
        (True, "true"),
        (None, ""),
        ([1], ""),
    ],
)
def test_ids_of_any_json_type_are_text_and_whole_numbers_have_no_fraction(raw, expected):
    assert as_id(raw) == expected


def test_records_read_every_id_as_text():
    assert LocationRecord.model_validate({"id": 143.0}).id == "143"
    evse = EvseRecord.model_validate({"uid": 1, "evse_id": 7.0})
    assert (evse.uid, evse.evse_id) == ("1", "7")
    assert EvseRecord.model_validate({"uid": None}).uid == ""
    assert ConnectorRecord.model_validate({"id": 2}).id == "2"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("AVAILABLE", "AVAILABLE"),
        ("available", "AVAILABLE"),
        (" charging ", "CHARGING"),
        ("inoperative", "INOPERATIVE"),
        ("OUT_OF_ORDER", "OUTOFORDER"),
        ("out_of_order", "OUTOFORDER"),
        ("Out-Of-Order", "OUTOFORDER"),
        ("out of order", "OUTOFORDER"),
        ("OUTOFORDER", "OUTOFORDER"),
        ("preparing", "PREPARING"),  # not OCPI's: kept, upper-cased
        ("WORKING", "WORKING"),
        ("FAULTED", "FAULTED"),
        ("NOT_WORKING", "NOT_WORKING"),  # separators are dropped only to reach an OCPI status
        ("", ""),
    ],
)
def test_statuses_are_read_in_ocpis_spelling(sent, expected):
    assert as_status(sent) == expected


@pytest.mark.parametrize(
    ("country", "uk"),
    [
        ("GBR", True),
        ("gbr", True),
        (" GB ", True),
        ("UK", True),
        ("uk", True),
        ("", True),  # not set: kept
        ("  ", True),
        ("AUS", False),
        ("IRL", False),
        ("IE", False),
        ("GBRX", False),
    ],
)
def test_a_country_is_the_uk_unless_set_to_another(country, uk):
    assert is_uk_country(country) is uk


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-06-02T08:00:00Z", datetime(2024, 6, 2, 8, tzinfo=UTC)),
        ("2024-06-02T08:00:00z", datetime(2024, 6, 2, 8, tzinfo=UTC)),
        ("2024-06-02T08:00:00+00:00", datetime(2024, 6, 2, 8, tzinfo=UTC)),
        ("2024-06-02T09:00:00+01:00", datetime(2024, 6, 2, 8, tzinfo=UTC)),
        ("2024-06-02T08:00:00", datetime(2024, 6, 2, 8, tzinfo=UTC)),  # no zone: UTC
        ("2024-06-02T08:00:00.250Z", datetime(2024, 6, 2, 8, 0, 0, 250000, tzinfo=UTC)),
        (" 2024-06-02T08:00:00.250 ", datetime(2024, 6, 2, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2024-06-02", datetime(2024, 6, 2, tzinfo=UTC)),
        ("", None),
        ("yesterday", None),
        ("2024-13-02T08:00:00Z", None),
    ],
)
def test_last_updated_is_read_leniently_as_utc(stamp, expected):
    assert as_instant(stamp) == expected


def test_ocpi_2_1_1_names_are_read_beside_2_2_1s():
    connector = ConnectorRecord.model_validate({"voltage": "230", "amperage": 32})
    assert (connector.max_voltage, connector.max_amperage) == (None, None)
    assert (connector.voltage, connector.amperage) == (Decimal("230"), Decimal("32"))
    assert LocationRecord.model_validate({"type": " parking_lot "}).type == "parking_lot"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"tariff_ids": ["T1", " t2 "]}, ("T1", "t2")),
        ({"tariff_ids": [7, 8.0, "", None, [1], {"id": 1}]}, ("7", "8")),  # blanks and non-ids dropped
        ({"tariff_ids": "T1"}, ("T1",)),  # one id sent bare
        ({"tariff_ids": [], "tariff_id": "OLD"}, ("OLD",)),  # OCPI 2.1.1's singular, read when no list
        ({"tariff_id": 12}, ("12",)),
        ({"tariff_ids": ["NEW"], "tariff_id": "OLD"}, ("NEW",)),  # 2.2.1's list wins
        ({"tariff_ids": None, "tariff_id": None}, ()),
        ({}, ()),
    ],
)
def test_a_connectors_tariffs_are_its_tariff_ids_else_its_2_1_1_tariff_id(raw, expected):
    assert ConnectorRecord.model_validate(raw).tariffs() == expected
