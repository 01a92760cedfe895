import json

import pandas as pd
import pytest

from pipeline.sandbox._ocpi_tariffs import CASES, DAYS, EXPECTED, reference, tariff, tariff_id, tariff_set
from pipeline.sources.uk_ocpi.prices import connector_prices
from pipeline.sources.uk_ocpi.tariffs import read_tariffs


def test_the_set_is_every_case_once_deterministic_and_plain_json():
    published = tariff_set("SLI")
    assert [t["id"] for t in published] == [f"sli-{case}" for case in CASES]
    assert json.loads(json.dumps(published)) == tariff_set("SLI")
    assert set(EXPECTED) == set(CASES)
    assert tariff_set("SLI", ("eur", "free")) == [tariff("SLI", "eur"), tariff("SLI", "free")]


def test_connectors_name_the_tariffs_in_another_case_than_published():
    assert (tariff_id("SLI", "gbp_vat"), reference("SLI", "gbp_vat")) == ("sli-gbp_vat", "SLI-GBP_VAT")
    assert all(tariff_id("Sli", c) != reference("Sli", c) for c in CASES)


def test_the_cases_are_shaped_like_the_real_uk_tariffs():
    by_case = {case: tariff("SLI", case) for case in CASES}
    components = {
        case: [c for element in t["elements"] for c in element["price_components"]]
        for case, t in by_case.items()
    }
    assert {t.get("type") for t in by_case.values()} == {"AD_HOC_PAYMENT", "REGULAR", "PROFILE_CHEAP", None}
    assert "type" not in by_case["strings"]
    assert components["strings"] == [{"type": "ENERGY", "price": "0.4199", "step_size": 1, "vat": "20"}]
    assert [c["price"] for c in components["energy_null"] if c["type"] == "ENERGY"] == [None]
    assert [e["restrictions"]["day_of_week"] for e in by_case["day_of_week"]["elements"]] == [
        [d] for d in DAYS
    ]
    assert {c["price"] for c in components["day_of_week"]} == {0.79}
    assert [sorted(e.get("restrictions", {})) for e in by_case["time_of_day"]["elements"]] == [
        ["end_time", "start_time"],
        [],
    ]
    assert [list(e["restrictions"]) for e in by_case["duration_kwh"]["elements"]] == [
        ["max_duration"],
        ["min_duration"],
        ["min_kwh"],
    ]
    assert [c["type"] for c in components["components"]] == ["ENERGY", "TIME", "FLAT", "PARKING_TIME"]
    assert by_case["components"]["min_price"] == {"excl_vat": 2.0, "incl_vat": 2.4}
    assert components["free"] == [{"type": "FLAT", "price": 0, "step_size": 1, "vat": 20}]
    assert (by_case["eur"]["currency"], by_case["usd"]["currency"]) == ("EUR", "USD")
    assert all("vat" not in c for c in components["gbp_no_vat"] + components["duration_kwh"])


@pytest.mark.parametrize("case", CASES)
def test_each_case_gives_the_price_worked_out_by_hand(case):
    connectors = pd.DataFrame(
        [("sandbox_link", "L1", "E1", "1", 7000.0, reference("SLI", case))],
        columns=["operator", "location_id", "evse", "connector_id", "power_w", "tariff_ids"],
    )
    tariffs = {"sandbox_link": read_tariffs("sandbox_link", tariff_set("SLI"))}
    row = connector_prices(connectors, tariffs, names={}).iloc[0]

    def pence(value: float) -> str:
        return "" if pd.isna(value) else f"{value:.2f}"

    assert (
        pence(row["price_min_p"]),
        pence(row["price_max_p"]),
        row["vat_stated"],
        pence(row["flat_fee_p"]),
        pence(row["time_price_p_per_hour"]),
        row["free"],
        row["price_unknown_reason"],
    ) == tuple(EXPECTED[case])
    assert row["tariff_id"] == tariff_id("SLI", case)
