"""The UK OCPI prices contract: the tariffs table, each connector's price, `charge_prices_UK.csv`'s rows, the
price history and each feed's tariff conformance, declared once (pandera; the descriptions are the UI's
column docs). The rules behind them are in `prices`; the tariff records (pydantic) in `tariffs`.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

# Power bands of a connector, in the CSV's order: its power in kW (half up, one decimal) below 8, below 50,
# below 150, from 150, or no power at all.
POWER_BANDS = ("slow", "fast", "rapid", "ultra_rapid", "unknown")
BAND_LIMITS_KW = (("slow", 8), ("fast", 50), ("rapid", 150))  # the band below each limit; else ultra_rapid

# Why a connector's price is unknown (`price_unknown_reason`), in the order the rules are applied.
NO_TARIFF = "no_tariff"  # the connector names no tariff
TARIFFS_UNAVAILABLE = "tariffs_unavailable"  # not found, and a feed searched had no readable tariffs that day
TARIFF_NOT_FOUND = "tariff_not_found"  # no feed searched publishes any tariff it names
NO_CURRENCY = "no_currency"  # the tariff used says no currency
CURRENCY = "currency:"  # + the code: the tariff used is not in GBP (never converted), e.g. "currency:EUR"
NO_ENERGY_PRICE = "no_energy_price"  # not free, and an ENERGY price is null or unreadable, or there is none

PRICES_CSV_HEADER = (
    "Operator",
    "PowerBand",
    "Connectors",
    "PricedConnectors",
    "MinPencePerKWh",
    "MedianPencePerKWh",
    "MaxPencePerKWh",
)


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


_OPERATOR = "The feed's slug, e.g. 'chargy'."
_PENCE = "pence, VAT included when the tariff states it, rounded half up to 2 decimals"


class Tariffs(_Table):
    """One row per operator, tariff, element and price component of the tariffs each feed publishes (a
    tariff published twice counts once, as its later copy; one without id or price components has no row).
    """

    operator: Series[str] = pa.Field(description=_OPERATOR)
    tariff_id: Series[str] = pa.Field(description="Tariff `id` as text (a number as written).")
    currency: Series[str] = pa.Field(description="ISO 4217 currency as sent, upper-cased, e.g. 'GBP'.")
    tariff_type: Series[str] = pa.Field(
        description="OCPI TariffType upper-cased, e.g. 'AD_HOC_PAYMENT', 'REGULAR'; '' when none."
    )
    element: Series[int] = pa.Field(ge=0, description="The element's place in `elements`, from 0.")
    component_type: Series[str] = pa.Field(
        description="OCPI TariffDimensionType upper-cased: 'ENERGY', 'FLAT', 'TIME' or 'PARKING_TIME'."
    )
    price: Series[float] = pa.Field(
        nullable=True,
        description="Price excl. VAT in the currency (per kWh, per hour, or once for FLAT), a string read "
        "as a number; NaN when null or unreadable.",
    )
    vat: Series[float] = pa.Field(nullable=True, description="VAT in %, as sent; NaN when not stated.")
    step_size: Series[float] = pa.Field(
        nullable=True, description="Billing step (Wh, or seconds for time); NaN when none."
    )
    restrictions: Series[str] = pa.Field(
        description="The element's restrictions as `name=value` in OCPI's order, '; '-joined, lists "
        "','-joined, e.g. 'start_time=07:00; day_of_week=MONDAY'; '' when none."
    )
    min_price: Series[float] = pa.Field(
        nullable=True, description="The tariff's `min_price` excl. VAT; NaN when none."
    )
    last_updated: Series[str] = pa.Field(description="The tariff's `last_updated` as sent.")


class ConnectorPrices(_Table):
    """One row per connector of the EVSEs counted in `charge_points_UK.csv`: what a kWh costs there, from
    the tariff a driver pays at the charger (the rules in the README), or why that is unknown."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description="The feed's display name, e.g. 'char.gy'.")
    location_id: Series[str] = pa.Field(description="Its location's `id`; '' when none.")
    evse: Series[str] = pa.Field(description="Its EVSE's `uid`, else `evse_id`.")
    connector_id: Series[str] = pa.Field(description="Connector `id` within its EVSE; '' when none.")
    power_band: Series[str] = pa.Field(
        isin=list(POWER_BANDS),
        description="From the connector's power in kW (half up, one decimal): slow < 8, fast < 50, "
        "rapid < 150, ultra_rapid ≥ 150; unknown without power.",
    )
    tariff_id: Series[str] = pa.Field(description="The tariff used, as its feed publishes it; '' when none.")
    tariff_feed: Series[str] = pa.Field(
        description="The feed (slug) that publishes the tariff used: its own, or one of its `tariffs_from`."
    )
    price_min_p: Series[float] = pa.Field(
        nullable=True, description=f"Cheapest ENERGY price over the tariff's elements, {_PENCE} per kWh."
    )
    price_max_p: Series[float] = pa.Field(
        nullable=True, description=f"Dearest ENERGY price over the tariff's elements, {_PENCE} per kWh."
    )
    vat_stated: Series[bool] = pa.Field(
        description="Every ENERGY component used (a free tariff's every component) states `vat`, so the "
        "prices include it; false when the price is unknown."
    )
    flat_fee_p: Series[float] = pa.Field(
        nullable=True,
        description=f"Smallest FLAT (per session) price over the elements, {_PENCE}; NaN when none.",
    )
    time_price_p_per_hour: Series[float] = pa.Field(
        nullable=True,
        description=f"Smallest TIME (charging time) price over the elements, {_PENCE} per hour; NaN "
        "when none.",
    )
    free: Series[bool] = pa.Field(
        description="Every price component of every element is 0 (prices then 0), in GBP."
    )
    price_unknown_reason: Series[str] = pa.Field(
        description="'' when the price is known; else no_tariff, tariffs_unavailable, tariff_not_found, "
        "no_currency, currency:<code> or no_energy_price."
    )


class ChargePrices(_Table):
    """`charge_prices_UK.csv`'s rows: per operator and power band, connectors and their pence per kWh."""

    Operator: Series[str] = pa.Field(description="The feed's display name.")
    PowerBand: Series[str] = pa.Field(isin=list(POWER_BANDS), description="The connectors' power band.")
    Connectors: Series[int] = pa.Field(gt=0, description="Connectors of the operator in the band.")
    PricedConnectors: Series[int] = pa.Field(ge=0, description="Those with a known price.")
    MinPencePerKWh: Series[str] = pa.Field(
        description="Smallest price_min_p of the priced connectors, 2 decimals; '' when none is priced."
    )
    MedianPencePerKWh: Series[str] = pa.Field(
        description="Median price_min_p (of an even count the mean of the middle two, half up), 2 decimals; "
        "'' when none is priced."
    )
    MaxPencePerKWh: Series[str] = pa.Field(
        description="Largest price_min_p of the priced connectors, 2 decimals; '' when none is priced."
    )


class PriceHistory(_Table):
    """Per stored day, operator and power band: connectors, those priced, and the median pence per kWh."""

    day: Series[str] = pa.Field(description="The snapshot day, YYYY-MM-DD.")
    operator: Series[str] = pa.Field(description="The feed's display name (the CSV's Operator).")
    power_band: Series[str] = pa.Field(isin=list(POWER_BANDS), description="The power band.")
    connectors: Series[int] = pa.Field(gt=0, description="Connectors that day.")
    priced_connectors: Series[int] = pa.Field(ge=0, description="Those with a known price.")
    median_p: Series[float] = pa.Field(
        nullable=True, description="Median price_min_p, pence per kWh; NaN when none is priced."
    )


class PriceWeekOverWeek(_Table):
    """Median pence per kWh per operator and band a week before and on the day; NaN where not priced."""

    operator: Series[str] = pa.Field(description="The feed's display name.")
    power_band: Series[str] = pa.Field(isin=list(POWER_BANDS), description="The power band.")
    week_before: Series[float] = pa.Field(nullable=True, description="Median a week before the day.")
    today: Series[float] = pa.Field(nullable=True, description="Median on the day.")
    change: Series[float] = pa.Field(nullable=True, description="today − week_before.")


class PriceConformance(_Table):
    """Per feed: how its tariffs and its connectors' references to them depart from what prices need."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    tariffs: Series[int] = pa.Field(ge=0, description="Distinct tariffs it publishes (each id once).")
    unreadable_tariffs: Series[int] = pa.Field(
        ge=0, description="Tariffs it sends that are not JSON objects or have no id: not used."
    )
    duplicate_tariffs: Series[int] = pa.Field(
        ge=0, description="Tariffs it sends again under an id already sent: the later copy is used."
    )
    connectors: Series[int] = pa.Field(ge=0, description="Connectors counted (those of the CSV's EVSEs).")
    priced_connectors: Series[int] = pa.Field(ge=0, description="Connectors with a known price.")
    connectors_without_tariff: Series[int] = pa.Field(ge=0, description="Connectors naming no tariff.")
    connectors_tariff_not_found: Series[int] = pa.Field(
        ge=0, description="Connectors naming only tariffs no feed searched publishes (or could be read)."
    )
    tariffs_other_currency: Series[int] = pa.Field(
        ge=0, description="Tariffs it publishes not in GBP (or without currency)."
    )
    prices_as_text: Series[int] = pa.Field(
        ge=0, description="Price components whose `price` is a JSON string, not a number."
    )
    tariffs_vat_not_stated: Series[int] = pa.Field(
        ge=0, description="Tariffs with a price component that does not state `vat`."
    )
