"""Pure aggregates of the connectors' prices: `charge_prices_UK.csv`'s rows, the price history and its
week over week, and each feed's tariff conformance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from pipeline.sources.uk_ocpi import price_schema as ps
from pipeline.sources.uk_ocpi.prices import CENT
from pipeline.sources.uk_ocpi.schema import frame
from pipeline.sources.uk_ocpi.tariffs import GBP, FeedTariffs


def median(values: Sequence[Decimal]) -> Decimal:
    """The median of sorted-or-not `values` (not empty); of an even count, the mean of the middle two,
    half up to 2 decimals."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ((ordered[middle - 1] + ordered[middle]) / 2).quantize(CENT, rounding=ROUND_HALF_UP)


def pence_text(value: Decimal | None) -> str:
    """Pence with exactly 2 decimals ("45.60"); '' for None."""
    return "" if value is None else f"{value.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def charge_prices(prices: pd.DataFrame) -> pd.DataFrame:
    """`charge_prices_UK.csv`'s rows (`price_schema.ChargePrices`) from `ConnectorPrices`: per operator
    name and power band with connectors, all of them, those priced, and the minimum, median and maximum
    of the priced ones' price_min_p; sorted by operator, then band in `POWER_BANDS` order."""
    groups: dict[tuple[str, str], list[Decimal | None]] = {}
    columns = ["operator_name", "power_band", "price_min_p", "price_unknown_reason"]
    for name, band, price, reason in prices[columns].itertuples(index=False):
        known = None if reason or pd.isna(price) else Decimal(repr(float(price)))
        groups.setdefault((name, band), []).append(known)
    order = {band: index for index, band in enumerate(ps.POWER_BANDS)}
    rows: list[tuple[object, ...]] = []
    for name, band in sorted(groups, key=lambda key: (key[0], order[key[1]])):
        priced = [value for value in groups[name, band] if value is not None]
        rows.append(
            (
                name,
                band,
                len(groups[name, band]),
                len(priced),
                pence_text(min(priced, default=None)),
                pence_text(median(priced) if priced else None),
                pence_text(max(priced, default=None)),
            )
        )
    return frame(ps.ChargePrices, rows)


def price_history(days: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per day (from each day's `charge_prices`), operator and band: connectors, priced, median pence."""
    rows = [
        (day, *row, float(median_text) if median_text else float("nan"))
        for day, table in sorted(days.items())
        for *row, median_text in table[
            ["Operator", "PowerBand", "Connectors", "PricedConnectors", "MedianPencePerKWh"]
        ].itertuples(index=False)
    ]
    return frame(ps.PriceHistory, rows)


def price_week_over_week(history: pd.DataFrame, *, day: str, week_before: str) -> pd.DataFrame:
    """Median pence per kWh per operator and band on `week_before` and `day`, and the change; NaN where an
    operator and band had no priced connector (or no row) that day."""
    medians: dict[str, dict[tuple[str, str], float]] = {week_before: {}, day: {}}
    for when, operator, band, value in history[["day", "operator", "power_band", "median_p"]].itertuples(
        index=False
    ):
        if when in medians:
            medians[when][operator, band] = float(value)
    order = {band: index for index, band in enumerate(ps.POWER_BANDS)}
    keys = sorted({*medians[week_before], *medians[day]}, key=lambda key: (key[0], order[key[1]]))
    nan = float("nan")
    rows: list[tuple[object, ...]] = []
    for operator, band in keys:
        before, today = (
            medians[week_before].get((operator, band), nan),
            medians[day].get((operator, band), nan),
        )
        rows.append((operator, band, before, today, today - before))
    return frame(ps.PriceWeekOverWeek, rows)


def price_conformance(prices: pd.DataFrame, tariffs: Mapping[str, FeedTariffs | None]) -> pd.DataFrame:
    """`price_schema.PriceConformance`: one row per feed with connectors or tariffs, sorted by slug."""
    reasons: dict[str, Counter[str]] = {}
    for operator, reason in prices[["operator", "price_unknown_reason"]].itertuples(index=False):
        reasons.setdefault(operator, Counter())[reason] += 1
    rows: list[tuple[object, ...]] = []
    for operator in sorted(set(reasons) | set(tariffs)):
        counts = reasons.get(operator, Counter())
        feed = tariffs.get(operator)
        published = list(feed.tariffs.values()) if feed is not None else []
        components = [component for tariff in published for component in tariff.components()]
        rows.append(
            (
                operator,
                len(published),
                feed.unreadable if feed is not None else 0,
                feed.duplicates if feed is not None else 0,
                counts.total(),
                counts[""],
                counts[ps.NO_TARIFF],
                counts[ps.TARIFF_NOT_FOUND] + counts[ps.TARIFFS_UNAVAILABLE],
                sum(tariff.currency != GBP for tariff in published),
                sum(component.price.as_text for component in components),
                sum(any(c.vat is None for c in tariff.components()) for tariff in published),
            )
        )
    return frame(ps.PriceConformance, rows)
