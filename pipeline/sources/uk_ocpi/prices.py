"""What charging costs at each UK connector, from its operator's own tariffs: the price rules, pure.

- A connector's tariffs are the ids it names (`tariff_ids`, else 2.1.1's `tariff_id`), each looked up
  case-insensitively in its own feed's tariffs, then in its `tariffs_from` feeds in order.
- Of those found, the first of type AD_HOC_PAYMENT (what a driver pays at the charger without a contract)
  is used, else the first REGULAR or untyped one, else the first.
- Only GBP is priced; any other currency is `currency:<code>` (never converted), none `no_currency`.
- `free`: every price component of every element is 0 (at least one; a null price is no 0): prices 0.
- Else `price_min_p` / `price_max_p` are the smallest and largest ENERGY price over all the elements,
  whatever their restrictions, × 100, × (1 + vat/100) when the component states `vat`, half up to 2
  decimals (Decimal arithmetic throughout); an ENERGY price null or unreadable, or no ENERGY component at
  all, is `no_energy_price`.
- `flat_fee_p` and `time_price_p_per_hour`: the smallest FLAT and TIME price over the elements that have
  one, in pence with VAT applied exactly as for energy; NaN when the tariff has none (PARKING_TIME is not
  charging time and is left out).
- Power band from the connector's own power in kW, half up to one decimal: slow < 8, fast < 50,
  rapid < 150, ultra_rapid ≥ 150; unknown without power.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from pipeline.sources.uk_ocpi import price_schema as ps
from pipeline.sources.uk_ocpi.records import as_float
from pipeline.sources.uk_ocpi.schema import TARIFF_SEPARATOR, frame
from pipeline.sources.uk_ocpi.tariffs import (
    ENERGY,
    FLAT,
    GBP,
    TIME,
    FeedTariffs,
    PriceComponentRecord,
    TariffRecord,
)

CENT = Decimal("0.01")
AD_HOC = "AD_HOC_PAYMENT"
REGULAR = "REGULAR"


@dataclass(frozen=True)
class Price:
    """A tariff's price for a connector, in pence (None where not known), or why it is unknown."""

    min_p: Decimal | None = None
    max_p: Decimal | None = None
    vat_stated: bool = False
    flat_fee_p: Decimal | None = None
    time_p_per_hour: Decimal | None = None
    free: bool = False
    reason: str = ""


def pence(component: PriceComponentRecord) -> Decimal | None:
    """A component's price × 100, × (1 + vat/100) when `vat` is stated, half up to 2 decimals."""
    price = component.price.value
    if price is None:
        return None
    gross = price * 100 * (1 + component.vat / 100) if component.vat is not None else price * 100
    return gross.quantize(CENT, rounding=ROUND_HALF_UP)


def tariff_price(tariff: TariffRecord) -> Price:
    """The price a tariff gives a connector, by the rules above."""
    if not tariff.currency:
        return Price(reason=ps.NO_CURRENCY)
    if tariff.currency != GBP:
        return Price(reason=f"{ps.CURRENCY}{tariff.currency}")
    components = tariff.components()
    energy = [component for component in components if component.type == ENERGY]
    free = bool(components) and all(component.price.value == 0 for component in components)
    energy_p = [pence(component) for component in energy]
    if not free and (not energy_p or None in energy_p):
        return Price(reason=ps.NO_ENERGY_PRICE)
    known = [p for p in energy_p if p is not None]
    return Price(
        min_p=min(known, default=Decimal(0)),
        max_p=max(known, default=Decimal(0)),
        vat_stated=all(component.vat is not None for component in energy or components),
        flat_fee_p=_smallest(components, FLAT),
        time_p_per_hour=_smallest(components, TIME),
        free=free,
    )


def _smallest(components: Sequence[PriceComponentRecord], kind: str) -> Decimal | None:
    return min((p for c in components if c.type == kind and (p := pence(c)) is not None), default=None)


def choose(found: Sequence[tuple[str, TariffRecord]]) -> tuple[str, TariffRecord]:
    """Of the (feed, tariff) found, in the connector's order: the first AD_HOC_PAYMENT, else the first
    REGULAR or untyped, else the first."""
    for wanted in ((AD_HOC,), (REGULAR, "")):
        for feed, tariff in found:
            if tariff.type in wanted:
                return feed, tariff
    return found[0]


def power_band(power_w: float) -> str:
    """The band of a power in W: kW half up to one decimal, then slow < 8 ≤ fast < 50 ≤ rapid < 150 ≤
    ultra_rapid; unknown for NaN (no power)."""
    if pd.isna(power_w):
        return "unknown"
    kw = (Decimal(repr(float(power_w))) / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return next((band for band, limit in ps.BAND_LIMITS_KW if kw < limit), "ultra_rapid")


Tariffs = Mapping[str, FeedTariffs | None]  # feed slug → its tariffs; None: not readable that day


def connector_price(
    operator: str, tariff_ids: str, tariffs: Tariffs, tariffs_from: Sequence[str]
) -> tuple[str, str, Price]:
    """(tariff id used, feed publishing it, price) for a connector of `operator` naming `tariff_ids`
    (joined by `TARIFF_SEPARATOR`)."""
    ids = [tariff_id for tariff_id in tariff_ids.split(TARIFF_SEPARATOR) if tariff_id]
    if not ids:
        return "", "", Price(reason=ps.NO_TARIFF)
    searched = [operator, *(feed for feed in tariffs_from if feed != operator)]
    found = []
    for tariff_id in ids:
        for feed in searched:
            if (published := tariffs.get(feed)) is not None and (tariff := published.find(tariff_id)):
                found.append((feed, tariff))
                break
    if not found:
        unavailable = any(feed in tariffs and tariffs[feed] is None for feed in searched)
        return "", "", Price(reason=ps.TARIFFS_UNAVAILABLE if unavailable else ps.TARIFF_NOT_FOUND)
    feed, tariff = choose(found)
    return tariff.id, feed, tariff_price(tariff)


def connector_prices(
    connectors: pd.DataFrame,
    tariffs: Tariffs,
    *,
    names: Mapping[str, str],
    tariffs_from: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """`price_schema.ConnectorPrices` of every connector in `connectors` (the `Connectors` table).

    `tariffs`: each feed's tariffs (`read_tariffs`), None for a feed whose tariffs could not be read that
    day (its connectors' prices are then `tariffs_unavailable` unless found in another feed); a feed
    absent from it publishes none. `names`: feed slug → display name; `tariffs_from`: feed slug → the
    feeds its tariffs are also looked up in, in order.
    """
    also = tariffs_from or {}
    rows = []
    columns = ["operator", "location_id", "evse", "connector_id", "power_w", "tariff_ids"]
    for operator, location_id, evse, connector_id, power, ids in connectors[columns].itertuples(index=False):
        tariff_id, feed, price = connector_price(operator, ids, tariffs, also.get(operator, ()))
        rows.append(
            (
                operator,
                names.get(operator, operator),
                location_id,
                evse,
                connector_id,
                power_band(power),
                tariff_id,
                feed,
                *map(as_float, (price.min_p, price.max_p)),
                price.vat_stated,
                *map(as_float, (price.flat_fee_p, price.time_p_per_hour)),
                price.free,
                price.reason,
            )
        )
    return frame(ps.ConnectorPrices, rows)
