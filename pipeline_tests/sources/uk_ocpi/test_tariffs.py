import math
from decimal import Decimal

import pandas as pd
import pytest

from pipeline.sources.uk_ocpi.price_schema import Tariffs
from pipeline.sources.uk_ocpi.schema import frame
from pipeline.sources.uk_ocpi.tariffs import (
    Amount,
    PriceComponentRecord,
    TariffRecord,
    read_tariffs,
    restrictions_text,
    tariff_rows,
)

NAN = math.nan


def tariff(tariff_id="T1", *elements, **changes):
    return {
        "country_code": "GB",
        "party_id": "CGY",
        "id": tariff_id,
        "currency": "GBP",
        "type": "AD_HOC_PAYMENT",
        "elements": list(elements) or [{"price_components": [{"type": "ENERGY", "price": 0.5, "vat": 20}]}],
        "last_updated": "2026-10-01T00:00:00Z",
        **changes,
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"price": 0.65}, Amount(Decimal("0.65"), False)),
        ({"price": "0.4199"}, Amount(Decimal("0.4199"), True)),  # a JSON string, read as a number
        ({"price": " 0.5 "}, Amount(Decimal("0.5"), True)),
        ({"price": None}, Amount(None, False)),  # null: unreadable, never 0
        ({"price": "free"}, Amount(None, True)),
        ({}, Amount(None, False)),
        ({"price": 0}, Amount(Decimal("0"), False)),
    ],
)
def test_a_price_is_read_as_a_number_and_whether_it_was_a_string_is_kept(raw, expected):
    assert PriceComponentRecord.model_validate(raw).price == expected


def test_a_component_reads_its_type_upper_cased_and_vat_and_step_size_given_or_not():
    component = PriceComponentRecord.model_validate({"type": " energy ", "vat": "20", "step_size": 1})
    assert (component.type, component.vat, component.step_size) == ("ENERGY", Decimal("20"), Decimal("1"))
    bare = PriceComponentRecord.model_validate({"type": "FLAT"})
    assert (bare.vat, bare.step_size) == (None, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"day_of_week": ["MONDAY", "TUESDAY"]}, "day_of_week=MONDAY,TUESDAY"),
        ({"end_time": "19:00", "start_time": "07:00"}, "start_time=07:00; end_time=19:00"),  # OCPI's order
        ({"min_duration": 3600, "max_kwh": 40.0}, "max_kwh=40.0; min_duration=3600"),
        ({"min_kwh": "0", "reservation": "RESERVATION"}, "min_kwh=0; reservation=RESERVATION"),
        ({"zone": "A", "max_power": 50000}, "max_power=50000; zone=A"),  # not OCPI's: after, sorted
        ({"start_time": None, "day_of_week": []}, ""),  # nothing said
        ({}, ""),
        (None, ""),
        ("weekdays", ""),
    ],
)
def test_restrictions_are_text_in_ocpis_order(raw, expected):
    assert restrictions_text(raw) == expected


def test_a_tariff_reads_currency_and_type_upper_cased_min_price_and_only_object_elements():
    record = TariffRecord.model_validate(
        tariff(
            7,
            "not an element",
            {"price_components": [{"type": "ENERGY", "price": 1}, "x", None], "restrictions": {"max_kwh": 1}},
            currency=" gbp ",
            type="ad_hoc_payment",
            min_price={"excl_vat": "2.00", "incl_vat": 2.4},
        )
    )
    assert (record.id, record.currency, record.type, record.min_price) == ("7", "GBP", "AD_HOC_PAYMENT", 2)
    assert len(record.elements) == 1 and record.elements[0].restrictions == "max_kwh=1"
    assert [c.type for c in record.components()] == ["ENERGY"]
    assert TariffRecord.model_validate({"id": "T", "min_price": 1.5}).min_price == Decimal(
        "1.5"
    )  # bare number
    untyped = TariffRecord.model_validate({"id": "T", "elements": "none"})
    assert (untyped.type, untyped.elements, untyped.min_price) == ("", (), None)


def test_a_feeds_tariffs_are_found_whatever_the_case_and_a_later_copy_replaces_an_earlier_one():
    feed = read_tariffs(
        "chargy",
        [
            tariff("gb-T1", min_price=1),
            tariff("T2"),
            tariff("GB-t1", min_price=2),
            "oops",
            {"currency": "GBP"},
        ],
    )
    assert list(feed.tariffs) == ["t2", "gb-t1"]  # the later copy, in its place
    assert feed.find("GB-T1").min_price == 2 and feed.find("gb-t1").id == "GB-t1"
    assert feed.find("T3") is None
    assert feed.unreadable == 2  # not an object; no id
    assert feed.duplicates == 1  # gb-T1 sent twice: counted, the later copy used


def test_the_tariffs_table_has_one_row_per_tariff_element_and_component_exactly():
    elements = [
        {
            "price_components": [
                {"type": "ENERGY", "price": "0.79", "vat": 5, "step_size": 1},
                {"type": "PARKING_TIME", "price": 6},
            ],
            "restrictions": {"start_time": "07:00", "day_of_week": ["MONDAY"]},
        },
        {"price_components": [{"type": "ENERGY", "price": None, "vat": 20}]},
        {"price_components": []},  # no component: no row
    ]
    feeds = {
        "chargy": read_tariffs("chargy", [tariff("T1", *elements, type=None, min_price={"excl_vat": 1})]),
        "jolt": read_tariffs("jolt", [tariff("J1", currency="EUR")]),
        "failed": None,  # tariffs not readable that day: no rows
    }
    table = frame(Tariffs, tariff_rows(feeds))
    Tariffs.validate(table)
    when, monday = "2026-10-01T00:00:00Z", "start_time=07:00; day_of_week=MONDAY"
    expected = frame(
        Tariffs,
        [
            ("chargy", "T1", "GBP", "", 0, "ENERGY", 0.79, 5.0, 1.0, monday, 1.0, when),
            ("chargy", "T1", "GBP", "", 0, "PARKING_TIME", 6.0, NAN, NAN, monday, 1.0, when),
            ("chargy", "T1", "GBP", "", 1, "ENERGY", NAN, 20.0, NAN, "", 1.0, when),
            ("jolt", "J1", "EUR", "AD_HOC_PAYMENT", 0, "ENERGY", 0.5, 20.0, NAN, "", NAN, when),
        ],
    )
    pd.testing.assert_frame_equal(table, expected)


def test_no_tariffs_give_an_empty_typed_table():
    table = frame(Tariffs, tariff_rows({}))
    assert table.empty and list(table.columns) == list(Tariffs.to_schema().columns)
    Tariffs.validate(table)
