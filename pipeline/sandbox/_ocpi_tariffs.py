"""The fake UK operators' OCPI Tariffs: one deterministic tariff per way real UK tariffs are written (our
own prices), and the price each gives a connector, worked out by hand.

Every tariff is published under a lower-case id (``"sli-gbp_vat"``) and named by connectors in upper case
(``reference("SLI", "gbp_vat")`` is ``"SLI-GBP_VAT"``), as real feeds differ, so every price found proves
the case-insensitive lookup.

The cases (prices in pence per kWh, as `EXPECTED` states them):
- `gbp_vat`: AD_HOC_PAYMENT, ENERGY 0.65 + 20% VAT: 78.00.
- `gbp_no_vat`: REGULAR, ENERGY 0.55, no `vat`: 55.00 as stated.
- `strings`: no type, price and VAT as JSON strings, "0.4199" + "20": 50.39 (50.388).
- `energy_null`: AD_HOC_PAYMENT, an ENERGY price of null beside a FLAT 0.30: no_energy_price.
- `day_of_week`: one element per day of the week, all ENERGY 0.79 + 5%: 82.95.
- `time_of_day`: 07:00-19:00 ENERGY 0.85, else 0.45, both + 20%: 54.00 to 102.00.
- `duration_kwh`: first hour 0.40, later 0.50 + PARKING_TIME 6.00/h, from 40 kWh 0.35, no VAT: 35.00 to 50.00.
- `components`: ENERGY 0.69, TIME 1.20/h, FLAT 1.00, PARKING_TIME 6.00/h, all + 20%, a `min_price`: 82.80
  (time 144.00 p/h, flat fee 120.00 p).
- `profile`: PROFILE_CHEAP, ENERGY 0.30 + 20%: 36.00.
- `free`: REGULAR, only a FLAT of 0 (+ 20%): free, 0.00.
- `eur`, `usd`: AD_HOC_PAYMENT in EUR, REGULAR in USD: currency:EUR, currency:USD (never converted).
- `half_up`: REGULAR, ENERGY 0.12345, no VAT: 12.35 (12.345 half up; half-even would give 12.34).
"""

from __future__ import annotations

from typing import Any, NamedTuple

UPDATED = "2026-10-01T00:00:00Z"
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _energy(price: Any, vat: Any = None, **extra: Any) -> dict:
    component = {"type": "ENERGY", "price": price, "step_size": 1, **extra}
    return component if vat is None else {**component, "vat": vat}


def _component(kind: str, price: Any, vat: Any = None) -> dict:
    step = {"FLAT": 1, "ENERGY": 1}.get(kind, 60)
    return {"type": kind, "price": price, "step_size": step, **({} if vat is None else {"vat": vat})}


# case → (currency, type or None, elements, extra fields)
_CASES: dict[str, tuple[str, str | None, list[dict], dict]] = {
    "gbp_vat": ("GBP", "AD_HOC_PAYMENT", [{"price_components": [_energy(0.65, 20.0)]}], {}),
    "gbp_no_vat": ("GBP", "REGULAR", [{"price_components": [_energy(0.55)]}], {}),
    "strings": ("GBP", None, [{"price_components": [_energy("0.4199", "20")]}], {}),
    "energy_null": (
        "GBP",
        "AD_HOC_PAYMENT",
        [{"price_components": [_energy(None, 20.0), _component("FLAT", 0.30, 20.0)]}],
        {},
    ),
    "day_of_week": (
        "GBP",
        "AD_HOC_PAYMENT",
        [{"price_components": [_energy(0.79, 5)], "restrictions": {"day_of_week": [day]}} for day in DAYS],
        {},
    ),
    "time_of_day": (
        "GBP",
        "AD_HOC_PAYMENT",
        [
            {
                "price_components": [_energy(0.85, 20)],
                "restrictions": {"start_time": "07:00", "end_time": "19:00"},
            },
            {"price_components": [_energy(0.45, 20)]},
        ],
        {},
    ),
    "duration_kwh": (
        "GBP",
        "REGULAR",
        [
            {"price_components": [_energy(0.40)], "restrictions": {"max_duration": 3600}},
            {
                "price_components": [_energy(0.50), _component("PARKING_TIME", 6.00)],
                "restrictions": {"min_duration": 3600},
            },
            {"price_components": [_energy(0.35)], "restrictions": {"min_kwh": 40.0}},
        ],
        {},
    ),
    "components": (
        "GBP",
        "AD_HOC_PAYMENT",
        [
            {
                "price_components": [
                    _energy(0.69, 20),
                    _component("TIME", 1.20, 20),
                    _component("FLAT", 1.00, 20),
                    _component("PARKING_TIME", 6.00, 20),
                ]
            }
        ],
        {"min_price": {"excl_vat": 2.00, "incl_vat": 2.40}},
    ),
    "profile": ("GBP", "PROFILE_CHEAP", [{"price_components": [_energy(0.30, 20)]}], {}),
    "free": ("GBP", "REGULAR", [{"price_components": [_component("FLAT", 0, 20)]}], {}),
    "eur": ("EUR", "AD_HOC_PAYMENT", [{"price_components": [_energy(0.59, 23)]}], {}),
    "usd": ("USD", "REGULAR", [{"price_components": [_energy(0.62, 8.875)]}], {}),
    "half_up": ("GBP", "REGULAR", [{"price_components": [_energy(0.12345)]}], {}),
}
CASES = tuple(_CASES)


class Expected(NamedTuple):
    """What a connector naming only that case's tariff gets: pence as text ('' when NaN)."""

    price_min_p: str
    price_max_p: str
    vat_stated: bool
    flat_fee_p: str
    time_price_p_per_hour: str
    free: bool
    price_unknown_reason: str


# Worked out by hand from the table above (× 100, × (1 + VAT/100), half up to 2 decimals).
EXPECTED: dict[str, Expected] = {
    "gbp_vat": Expected("78.00", "78.00", True, "", "", False, ""),
    "gbp_no_vat": Expected("55.00", "55.00", False, "", "", False, ""),
    "strings": Expected("50.39", "50.39", True, "", "", False, ""),  # 41.99 × 1.2 = 50.388
    "energy_null": Expected("", "", False, "", "", False, "no_energy_price"),
    "day_of_week": Expected("82.95", "82.95", True, "", "", False, ""),
    "time_of_day": Expected("54.00", "102.00", True, "", "", False, ""),
    "duration_kwh": Expected("35.00", "50.00", False, "", "", False, ""),
    "components": Expected("82.80", "82.80", True, "120.00", "144.00", False, ""),
    "profile": Expected("36.00", "36.00", True, "", "", False, ""),
    "free": Expected("0.00", "0.00", True, "0.00", "", True, ""),
    "eur": Expected("", "", False, "", "", False, "currency:EUR"),
    "usd": Expected("", "", False, "", "", False, "currency:USD"),
    "half_up": Expected("12.35", "12.35", False, "", "", False, ""),
}


def tariff_id(party: str, case: str) -> str:
    """The id the tariff is published under: lower case, e.g. 'sli-gbp_vat'."""
    return f"{party}-{case}".lower()


def reference(party: str, case: str) -> str:
    """How a connector names the tariff: upper case, e.g. 'SLI-GBP_VAT'."""
    return f"{party}-{case}".upper()


def tariff(party: str, case: str) -> dict:
    """The OCPI 2.2.1 Tariff object of one case (a tariff without `type` has no such field)."""
    currency, kind, elements, extra = _CASES[case]
    tariff: dict = {
        "country_code": "GB",
        "party_id": party.upper(),
        "id": tariff_id(party, case),
        "currency": currency,
        **({"type": kind} if kind is not None else {}),
        "elements": elements,
        **extra,
        "last_updated": UPDATED,
    }
    return tariff


def tariff_set(party: str, cases: tuple[str, ...] = CASES) -> list[dict]:
    """The tariffs of `cases` (all by default), in that order."""
    return [tariff(party, case) for case in cases]
