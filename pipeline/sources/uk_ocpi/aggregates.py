"""Pure aggregates of the cleaned EVSEs: the CSV's counts, EVSEs per status, and the out-of-order history."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipeline.sources.uk import month_updated
from pipeline.sources.uk_ocpi import schema


def charge_point_counts(evses: pd.DataFrame) -> pd.DataFrame:
    """EVSEs per operator name, parking type, connectors, max power, postcode and month updated.

    Columns are `CSV_HEADER`; rows sorted by the six keys compared as text.
    """
    keys = pd.DataFrame(
        {
            "Operator": evses["operator_name"],
            "ParkingType": evses["parking_type"],
            "Connectors": evses["connector_standards"],
            "MaxPowerKW": evses["max_power_kw"],
            "PostCode": evses["postcode"],
            "MonthUpdated": evses["last_updated"].map(month_updated),
        },
        columns=list(schema.COUNT_KEYS),
    ).astype(str)
    counts = keys.value_counts(sort=False, dropna=False).rename("Count").reset_index()
    counts = counts.reindex(columns=list(schema.CSV_HEADER)).sort_values(
        list(schema.COUNT_KEYS), kind="stable"
    )
    return counts.reset_index(drop=True).astype(schema.dtypes(schema.ChargePointCounts))


def status_by_operator(evses: pd.DataFrame) -> pd.DataFrame:
    """EVSEs per operator (slug) and status, sorted by both."""
    counts = evses[["operator", "status"]].astype(str).value_counts(sort=False).rename("evses").reset_index()
    counts = counts.reindex(columns=["operator", "status", "evses"]).sort_values(["operator", "status"])
    return counts.reset_index(drop=True).astype(schema.dtypes(schema.StatusByOperator))


def out_of_order_history(days: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per day (from each day's `status_by_operator`) and operator: EVSEs, OUTOFORDER + INOPERATIVE, share."""
    parts = []
    for day, counts in sorted(days.items()):
        evses = counts["evses"].astype("int64")
        frame = pd.DataFrame(
            {
                "operator": counts["operator"],
                "evses": evses,
                "out_of_order": evses.where(counts["status"].isin(schema.OUT_OF_ORDER), 0),
            }
        )
        parts.append(frame.groupby("operator", as_index=False).sum().assign(day=day))
    columns = schema.dtypes(schema.OutOfOrderHistory)
    if not parts:
        return pd.DataFrame(columns=list(columns)).astype(columns)
    history = pd.concat(parts, ignore_index=True)
    history["out_of_order_share"] = history["out_of_order"] / history["evses"]
    history = history.reindex(columns=list(columns)).sort_values(["day", "operator"], kind="stable")
    return history.reset_index(drop=True).astype(columns)


def out_of_order_week_over_week(history: pd.DataFrame, *, day: str, week_before: str) -> pd.DataFrame:
    """Out-of-order share per operator on `week_before` and `day`, and the change; an operator without
    data on a day is NaN there (not 0), so its change is NaN too."""
    shares = {
        when: history.loc[history["day"] == when].set_index("operator")["out_of_order_share"]
        for when in (week_before, day)
    }
    operators = sorted(set(shares[week_before].index) | set(shares[day].index))
    before = shares[week_before].reindex(operators).to_numpy(dtype=float)
    today = shares[day].reindex(operators).to_numpy(dtype=float)
    columns = schema.dtypes(schema.OutOfOrderWeekOverWeek)
    result = pd.DataFrame(
        {"operator": operators, "week_before": before, "today": today, "change": today - before},
        columns=list(columns),
    )
    return result.astype(columns)
