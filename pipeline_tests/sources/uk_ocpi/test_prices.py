"""Every price rule of issue 17, pinned with exact values (Decimal pence, reasons, bands at their bounds)."""

import io
import math
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest

from pipeline.sources.csv_output import write_counts_csv
from pipeline.sources.uk_ocpi.price_aggregates import (
    charge_prices,
    median,
    price_conformance,
    price_history,
    price_week_over_week,
)
from pipeline.sources.uk_ocpi.price_schema import (
    PRICES_CSV_HEADER,
    ChargePrices,
    ConnectorPrices,
    PriceConformance,
    PriceHistory,
    PriceWeekOverWeek,
    Tariffs,
)
from pipeline.sources.uk_ocpi.prices import connector_prices, power_band, tariff_price
from pipeline.sources.uk_ocpi.tariffs import TariffRecord, read_tariffs

NAN = math.nan
D = Decimal


def energy(price, vat=None, kind="ENERGY"):
    return {"type": kind, "price": price, **({} if vat is None else {"vat": vat})}


def tariff(tariff_id="T1", *components, elements=None, **changes):
    """A GBP tariff of one element holding `components` (an ENERGY 0.50 + 20% by default)."""
    return {
        "id": tariff_id,
        "currency": "GBP",
        "elements": elements or [{"price_components": list(components) or [energy(0.5, 20)]}],
        **changes,
    }


def price_of(*components, elements=None, **changes):
    return tariff_price(TariffRecord.model_validate(tariff("T1", *components, elements=elements, **changes)))


# --- the price of one tariff -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "pence", "vat_stated"),
    [
        (energy(0.65, 20), D("78.00"), True),  # × 100 × 1.2
        (energy(0.65), D("65.00"), False),  # no vat: as stated
        (energy("0.4199", "20"), D("50.39"), True),  # strings read as numbers; 50.388 half up
        (energy(0.12345), D("12.35"), False),  # 12.345: half up (half-even would give 12.34)
        (energy(0.79, 5), D("82.95"), True),
        (energy(0.6, 0), D("60.00"), True),  # 0% is stated
        (energy(0.123456, 17.5), D("14.51"), True),  # 14.506...
    ],
)
def test_an_energy_price_is_pence_with_the_stated_vat_half_up_to_2_decimals(component, pence, vat_stated):
    price = price_of(component)
    assert (price.min_p, price.max_p, price.vat_stated, price.free, price.reason) == (
        pence,
        pence,
        vat_stated,
        False,
        "",
    )
    assert str(price.min_p) == f"{pence:.2f}"  # Decimal-exact, two places


def test_min_and_max_are_over_every_elements_energy_price_whatever_the_restrictions():
    elements = [
        {
            "price_components": [energy(0.85, 20)],
            "restrictions": {"start_time": "07:00", "end_time": "19:00"},
        },
        {"price_components": [energy(0.45, 20)], "restrictions": {"day_of_week": ["SATURDAY"]}},
        {"price_components": [energy(0.50)], "restrictions": {"min_kwh": 40}},  # no vat: 50.00 as stated
    ]
    price = price_of(elements=elements)
    assert (price.min_p, price.max_p, price.vat_stated) == (D("50.00"), D("102.00"), False)


def test_one_element_per_day_of_the_week_at_the_same_price_is_that_price():
    days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
    elements = [{"price_components": [energy(0.79, 5)], "restrictions": {"day_of_week": [d]}} for d in days]
    price = price_of(elements=elements)
    assert (price.min_p, price.max_p) == (D("82.95"), D("82.95"))


def test_flat_fee_and_time_price_are_the_smallest_over_the_elements_vat_applied_parking_left_out():
    elements = [
        {"price_components": [energy(0.69, 20), energy(1.20, 20, "TIME"), energy(1.00, 20, "FLAT")]},
        {"price_components": [energy(0.70), energy(0.90, None, "TIME"), energy(2.00, None, "FLAT")]},
        {"price_components": [energy(0.69, 20), energy(0.10, 20, "PARKING_TIME")]},
    ]
    price = price_of(elements=elements, min_price={"excl_vat": 2.0, "incl_vat": 2.4})
    assert (price.min_p, price.max_p) == (D("70.00"), D("82.80"))
    assert (price.flat_fee_p, price.time_p_per_hour) == (D("120.00"), D("90.00"))
    assert price_of(energy(0.5, 20)).flat_fee_p is None and price_of(energy(0.5, 20)).time_p_per_hour is None


@pytest.mark.parametrize(
    ("components", "elements"),
    [
        ([energy(None, 20)], None),  # ENERGY price null
        ([energy("n/a", 20)], None),  # unreadable
        ([energy(1.20, 20, "TIME"), energy(1.00, 20, "FLAT")], None),  # no ENERGY component
        ([energy(0, 20, "FLAT"), energy(None, 20)], None),  # a null is no 0: not free
        (None, [{"price_components": [energy(0.5, 20)]}, {"price_components": [energy(None)]}]),  # any null
        (None, [{"price_components": []}]),  # nothing at all: not free
    ],
)
def test_no_usable_energy_price_is_unknown_unless_free(components, elements):
    price = price_of(*(components or []), elements=elements)
    assert (price.min_p, price.max_p, price.free, price.vat_stated, price.reason) == (
        None,
        None,
        False,
        False,
        "no_energy_price",
    )


def test_free_is_every_component_of_every_element_zero_and_prices_are_then_zero():
    only_flat = price_of(energy(0, 20, "FLAT"))
    assert (only_flat.min_p, only_flat.max_p, only_flat.free, only_flat.flat_fee_p) == (0, 0, True, 0)
    assert (only_flat.vat_stated, only_flat.reason, only_flat.time_p_per_hour) == (True, "", None)
    elements = [{"price_components": [energy("0.00")]}, {"price_components": [energy(0, None, "TIME")]}]
    zeros = price_of(elements=elements)
    assert (zeros.free, zeros.min_p, zeros.vat_stated, zeros.time_p_per_hour) == (True, 0, False, 0)
    assert price_of(energy(0, 20), energy(0.30, 20, "FLAT")).free is False  # energy free, a fee is not
    assert price_of(energy(0, 20), energy(0.30, 20, "FLAT")).min_p == 0


@pytest.mark.parametrize(
    ("currency", "reason"),
    [("EUR", "currency:EUR"), ("usd", "currency:USD"), ("", "no_currency"), (None, "no_currency")],
)
def test_only_gbp_is_priced_and_nothing_is_converted(currency, reason):
    price = price_of(energy(0.59, 23), currency=currency)
    assert (price.min_p, price.free, price.reason) == (None, False, reason)
    assert price_of(energy(0, 20, "FLAT"), currency="EUR").free is False  # free only in GBP
    assert price_of(energy(0.5), currency=" gbp ").min_p == D("50.00")


# --- power bands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watts", "band"),
    [
        (3700.0, "slow"),
        (7900.0, "slow"),
        (7949.0, "slow"),  # 7.9 kW
        (7950.0, "fast"),  # 7.95 → 8.0 half up
        (8000.0, "fast"),
        (49900.0, "fast"),
        (49950.0, "rapid"),  # 50.0
        (50000.0, "rapid"),
        (149900.0, "rapid"),
        (149949.0, "rapid"),
        (149950.0, "ultra_rapid"),  # 150.0
        (150000.0, "ultra_rapid"),
        (350000.0, "ultra_rapid"),
        (NAN, "unknown"),
    ],
)
def test_power_bands_from_the_connectors_kw_half_up_to_one_decimal(watts, band):
    assert power_band(watts) == band


# --- each connector's price --------------------------------------------------------------------------


def connectors(*rows, operator="pogo"):
    """(connector id, power_w, tariff_ids as the Connectors table holds them)."""
    return pd.DataFrame(
        [(operator, "L1", "E1", cid, power, ids) for cid, power, ids in rows],
        columns=["operator", "location_id", "evse", "connector_id", "power_w", "tariff_ids"],
    )


def priced(frame, tariffs, **kwargs):
    table = connector_prices(frame, tariffs, names={"pogo": "Pod Point GO", "evolt": "Evolt"}, **kwargs)
    ConnectorPrices.validate(table)
    return table


def test_a_connector_price_row_exactly():
    tariffs = {"pogo": read_tariffs("pogo", [tariff("t1", energy(0.69, 20), energy(1.0, 20, "FLAT"))])}
    table = priced(connectors(("1", 22000.0, "T1"), ("2", NAN, "")), tariffs)
    expected = pd.DataFrame(
        [
            ("pogo", "Pod Point GO", "L1", "E1", "1", "fast", "t1", "pogo", 82.8, 82.8, True, 120.0, NAN,
             False, ""),
            ("pogo", "Pod Point GO", "L1", "E1", "2", "unknown", "", "", NAN, NAN, False, NAN, NAN, False,
             "no_tariff"),
        ],
        columns=list(ConnectorPrices.to_schema().columns),
    )  # fmt: skip
    pd.testing.assert_frame_equal(table, expected)


def test_tariffs_are_looked_up_case_insensitively_in_the_own_feed_then_tariffs_from_in_order():
    tariffs = {
        "pogo": read_tariffs("pogo", [tariff("OWN", energy(0.40))]),
        "evolt": read_tariffs("evolt", [tariff("own", energy(0.99)), tariff("shared", energy(0.50))]),
        "other": read_tariffs("other", [tariff("SHARED", energy(0.60)), tariff("last", energy(0.70))]),
    }
    frame = connectors(
        ("1", 7000.0, "own"), ("2", 7000.0, "Shared"), ("3", 7000.0, "LAST"), ("4", 7000.0, "x")
    )
    table = priced(frame, tariffs, tariffs_from={"pogo": ["evolt", "other"]})
    assert table[["tariff_id", "tariff_feed", "price_unknown_reason"]].values.tolist() == [
        ["OWN", "pogo", ""],  # its own feed's first, though evolt publishes "own" too
        ["shared", "evolt", ""],  # then evolt's, before other's
        ["last", "other", ""],
        ["", "", "tariff_not_found"],
    ]
    assert table["price_min_p"].tolist() == pytest.approx([40.0, 50.0, 70.0, NAN], nan_ok=True)
    alone = priced(connectors(("1", 7000.0, "shared")), tariffs)  # without tariffs_from: not found
    assert alone["price_unknown_reason"].tolist() == ["tariff_not_found"]


@pytest.mark.parametrize(
    ("types", "used"),
    [
        (["PROFILE_CHEAP", "REGULAR", "AD_HOC_PAYMENT"], "T3"),  # AD_HOC_PAYMENT first
        (["AD_HOC_PAYMENT", "AD_HOC_PAYMENT"], "T1"),  # the first of them
        (["PROFILE_GREEN", None, "REGULAR"], "T2"),  # else the first REGULAR or untyped
        (["PROFILE_GREEN", "REGULAR", None], "T2"),
        (["PROFILE_GREEN", "profile_fast"], "T1"),  # else the first
        ([" ad_hoc_payment ", "REGULAR"], "T1"),  # any case
    ],
)
def test_the_tariff_used_is_ad_hoc_else_regular_or_untyped_else_the_first(types, used):
    published = [
        tariff(f"T{n}", energy(n / 10), **({} if kind is None else {"type": kind}))
        for n, kind in enumerate(types, start=1)
    ]
    ids = "\n".join(f"T{n}" for n in range(1, len(types) + 1)) + "\nT9"  # T9 is published nowhere
    table = priced(connectors(("1", 7000.0, ids)), {"pogo": read_tariffs("pogo", published)})
    assert table["tariff_id"].tolist() == [used]
    assert table["price_min_p"].tolist() == [int(used[1]) * 10.0]


def test_reasons_a_price_is_unknown():
    tariffs = {
        "pogo": read_tariffs("pogo", [tariff("EUR1", currency="EUR"), tariff("NULL", energy(None, 20))]),
        "evolt": None,  # its tariffs could not be read that day
    }
    frame = connectors(("1", 7000.0, ""), ("2", 7000.0, "EUR1"), ("3", 7000.0, "NULL"), ("4", 7000.0, "GONE"))
    assert priced(frame, tariffs)["price_unknown_reason"].tolist() == [
        "no_tariff",
        "currency:EUR",
        "no_energy_price",
        "tariff_not_found",
    ]
    searched = priced(connectors(("1", 7000.0, "GONE")), tariffs, tariffs_from={"pogo": ["evolt"]})
    assert searched["price_unknown_reason"].tolist() == ["tariffs_unavailable"]
    own_failed = priced(connectors(("1", 7000.0, "T1")), {"pogo": None})
    assert own_failed[["price_unknown_reason", "vat_stated", "free"]].values.tolist() == [
        ["tariffs_unavailable", False, False]
    ]


def test_no_connectors_give_an_empty_typed_table():
    table = priced(connectors(), {})
    assert table.empty and list(table.columns) == list(ConnectorPrices.to_schema().columns)


# --- charge_prices_UK.csv ------------------------------------------------------------------------


def prices_frame(*rows):
    """(operator name, band, price_min_p or NaN, reason) as ConnectorPrices rows."""
    return pd.DataFrame(
        [
            (name.lower(), name, "L", "E", "1", band, "", "", p, p, False, NAN, NAN, False, reason)
            for name, band, p, reason in rows
        ],
        columns=list(ConnectorPrices.to_schema().columns),
    ).astype({"vat_stated": bool, "free": bool})


def csv_text(table):
    out = io.StringIO()
    write_counts_csv(pa.Table.from_pandas(table, preserve_index=False).to_batches(), out, PRICES_CSV_HEADER)
    return out.getvalue()


def test_the_csv_text_exactly():
    prices = prices_frame(
        ("b.op", "unknown", NAN, "no_tariff"),
        ("b.op", "ultra_rapid", 79.0, ""),
        ("b.op", "rapid", 45.01, ""),
        ("b.op", "rapid", 45.02, ""),  # even count: (45.01 + 45.02) / 2 = 45.015 → 45.02 half up
        ("b.op", "rapid", NAN, "currency:EUR"),
        ("A, Ltd", "slow", 30.0, ""),
        ("A, Ltd", "fast", 55.5, ""),
        ("A, Ltd", "fast", 40.0, ""),
        ("A, Ltd", "fast", 0.0, ""),  # free counts as priced at 0
        ("A, Ltd", "fast", NAN, "tariff_not_found"),
        ("A, Ltd", "slow", 10.0, ""),
        ("A, Ltd", "slow", 20.0, ""),
        ("A, Ltd", "slow", 40.0, ""),
    )
    table = charge_prices(prices)
    ChargePrices.validate(table)
    assert csv_text(table) == (
        "Operator,PowerBand,Connectors,PricedConnectors,MinPencePerKWh,MedianPencePerKWh,MaxPencePerKWh\n"
        '"A, Ltd",slow,4,4,10.00,25.00,40.00\n'
        '"A, Ltd",fast,4,3,0.00,40.00,55.50\n'
        "b.op,rapid,3,2,45.01,45.02,45.02\n"
        "b.op,ultra_rapid,1,1,79.00,79.00,79.00\n"
        "b.op,unknown,1,0,,,\n"
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3.00"], "3.00"),
        (["5.00", "1.00", "3.00"], "3.00"),
        (["1.00", "2.00"], "1.50"),
        (["0.01", "0.02"], "0.02"),  # 0.015 half up
        (["10.11", "10.12", "99.00", "1.00"], "10.12"),  # (10.11 + 10.12) / 2 = 10.115
    ],
)
def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two_half_up(values, expected):
    assert str(median([D(v) for v in values])) == expected


def test_no_prices_give_the_header_only():
    assert csv_text(charge_prices(prices_frame())) == ",".join(PRICES_CSV_HEADER) + "\n"


# --- history and conformance ------------------------------------------------------------------------


def test_the_history_has_each_days_medians_and_week_over_week_compares_them():
    monday = charge_prices(prices_frame(("A", "fast", 40.0, ""), ("A", "slow", NAN, "no_tariff")))
    later = charge_prices(prices_frame(("A", "fast", 45.0, ""), ("B", "rapid", 60.0, "")))
    history = price_history({"2026-10-12": later, "2026-10-05": monday})
    PriceHistory.validate(history)
    assert history[["day", "operator", "power_band", "connectors", "priced_connectors"]].values.tolist() == [
        ["2026-10-05", "A", "slow", 1, 0],  # bands in POWER_BANDS order, not alphabetical
        ["2026-10-05", "A", "fast", 1, 1],
        ["2026-10-12", "A", "fast", 1, 1],
        ["2026-10-12", "B", "rapid", 1, 1],
    ]
    assert history["median_p"].tolist() == pytest.approx([NAN, 40.0, 45.0, 60.0], nan_ok=True)
    weekly = price_week_over_week(history, day="2026-10-12", week_before="2026-10-05")
    PriceWeekOverWeek.validate(weekly)
    assert weekly[["operator", "power_band"]].values.tolist() == [
        ["A", "slow"],
        ["A", "fast"],
        ["B", "rapid"],
    ]
    assert weekly[["week_before", "today", "change"]].to_numpy().ravel().tolist() == pytest.approx(
        [NAN, NAN, NAN, 40.0, 45.0, 5.0, NAN, 60.0, NAN], nan_ok=True
    )


def test_conformance_counts_per_feed():
    published = [
        tariff("T1", energy("0.50", 20), energy("1", None, "FLAT")),  # two strings, one VAT not stated
        tariff("T2", currency="EUR"),
        tariff("T3", energy(0.4, 20)),
        "not a tariff",
        tariff("t3", energy(0.4, 20)),  # T3 again: counted, the later copy used
    ]
    tariffs = {"pogo": read_tariffs("pogo", published), "evolt": None, "jolt": read_tariffs("jolt", [])}
    frame = connectors(("1", 7000.0, "T1"), ("2", 7000.0, ""), ("3", 7000.0, "NOPE"), ("4", 7000.0, "T2"))
    table = price_conformance(priced(frame, tariffs), tariffs)
    PriceConformance.validate(table)
    assert table.values.tolist() == [
        ["evolt", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ["jolt", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ["pogo", 3, 1, 1, 4, 1, 1, 1, 1, 2, 1],
    ]


@pytest.mark.parametrize(
    "model", [Tariffs, ConnectorPrices, ChargePrices, PriceHistory, PriceWeekOverWeek, PriceConformance]
)
def test_every_price_column_is_described(model):
    table = model.to_schema()
    assert [name for name, column in table.columns.items() if not column.description] == []


def test_the_csv_contract_is_the_header_in_order():
    assert list(ChargePrices.to_schema().columns) == list(PRICES_CSV_HEADER)
    assert PRICES_CSV_HEADER == (
        "Operator", "PowerBand", "Connectors", "PricedConnectors", "MinPencePerKWh", "MedianPencePerKWh",
        "MaxPencePerKWh",
    )  # fmt: skip
