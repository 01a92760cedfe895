"""Each feed's conformance row (how its feed departs from OCPI 2.2.1) and its markdown summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from pipeline.resources.metadata import markdown_text as _md
from pipeline.sources.uk_ocpi import schema
from pipeline.sources.uk_ocpi.records import as_instant

Row = tuple[object, ...]


def stale_before(day: str | None) -> datetime | None:
    """The moment before which an EVSE's last_updated is stale on snapshot `day` ("YYYY-MM-DD"):
    `STALE_DAYS` days before the day's start, UTC. None without a day (nothing is then judged stale)."""
    if day is None:
        return None
    start = datetime.combine(date.fromisoformat(day), time(), tzinfo=UTC)
    return start - timedelta(days=schema.STALE_DAYS)


def is_stale(last_updated: str, before: datetime) -> bool:
    """Stale: older than `before`, or missing or unreadable (nothing then says the status is recent)."""
    moment = as_instant(last_updated)
    return moment is None or moment < before


def conformance_row(
    counts: Mapping[str, int],
    *,
    operator: str,
    name: str,
    unknown_statuses: Mapping[str, int],
    rejects: int,
    dated: bool,
) -> Row:
    """One feed's row of `schema.Conformance` from its counts (keyed by column name; absent means 0).

    `dated`: whether a snapshot day was given, without which the stale share is NaN.
    """
    evses = counts.get("evses", 0)
    share = counts.get("stale_evses", 0) / evses if dated and evses else math.nan
    values: dict[str, object] = {
        **counts,
        "operator": operator,
        "operator_name": name,
        "rejects": rejects,
        "unknown_statuses": ", ".join(f"{status}: {n}" for status, n in sorted(unknown_statuses.items())),
        "stale_evses_share": share,
    }
    return tuple(values.get(column, 0) for column in schema.dtypes(schema.Conformance))


def conformance_markdown(conformance: pd.DataFrame) -> str:
    """A short markdown summary of the conformance table: one section per operator."""
    if conformance.empty:
        return "_No feeds._"
    rows = conformance.to_dict("records")
    return "\n\n".join(_operator_markdown({str(name): value for name, value in row.items()}) for row in rows)


def _operator_markdown(row: Mapping[str, object]) -> str:
    missing = ", ".join(
        f"`{kind}.{name}` {row[f'missing_{kind}_{name}']}"
        for kind, names in schema.CHECKED_FIELDS.items()
        for name in names
        if row[f"missing_{kind}_{name}"]
    )
    share = row["stale_evses_share"]
    stale = "unknown" if not isinstance(share, float) or math.isnan(share) else f"{share:.1%}"
    return "\n".join(
        [
            f"### {_md(row['operator_name'])} ({_md(row['operator'])})",
            f"- Locations: {row['locations']} ({row['published_locations']} published, "
            f"{row['unpublished_locations']} unpublished, {row['duplicate_locations']} served twice, "
            f"{row['non_uk_locations']} in another country left out)",
            f"- EVSEs: {row['evses']} ({row['removed_evses']} removed left out, {row['duplicate_evses']} "
            f"served twice, {row['reused_evse_uids']} with a uid also used at another location, "
            f"{row['no_power_evses']} without power)",
            f"- Stale status (last updated over {schema.STALE_DAYS} days before the day): "
            f"{row['stale_evses']} EVSEs ({stale})",
            f"- Rejected values: {row['rejects']}",
            f"- Missing OCPI fields: {missing or 'none'}",
            f"- OCPI 2.1.1 names read: `type` for {row['ocpi_211_parking_types']} locations, "
            f"`voltage`/`amperage` for {row['ocpi_211_powers']} connectors",
            f"- Statuses not in OCPI: {_md(row['unknown_statuses']) or 'none'}; "
            f"not in upper case: {row['statuses_not_upper_case']}; read as OCPI's spelling: "
            f"{row['statuses_mapped']}",
            f"- Locations without coordinates: {row['no_coordinates']}, without postcode: "
            f"{row['no_postcode']}, outside the UK: {row['outside_uk']}, latitude and longitude swapped: "
            f"{row['swapped_coordinates']}",
        ]
    )
