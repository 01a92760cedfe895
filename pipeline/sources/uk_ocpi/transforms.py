"""Pure cleaning for the UK OCPI feeds: each feed's (where, raw JSON) locations in, frames out.

No Dagster, no network, no files. What OCPI allows a feed to get wrong is kept and counted (the
conformance table); only what cannot be read at all goes to the rejects, with the locations outside the UK.

Identity: a location is operator + `id` (case-insensitive, as OCPI's CiString); one served twice counts
once, as its later copy with that copy's EVSEs. An EVSE is its location + `uid` (else `evse_id`), so uids
numbered per site are distinct EVSEs; at a location without id, it is operator + `uid` (else `evse_id`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from pipeline.sources.contract import rejects_frame
from pipeline.sources.uk import normalise_postcode
from pipeline.sources.uk_ocpi import schema
from pipeline.sources.uk_ocpi.aggregates import (
    charge_point_counts,
    out_of_order_history,
    out_of_order_week_over_week,
    status_by_operator,
)
from pipeline.sources.uk_ocpi.conformance import conformance_markdown, conformance_row, is_stale, stale_before
from pipeline.sources.uk_ocpi.reading import (
    EvseKey,
    EvseRead,
    FeedRead,
    LocationKey,
    LocationRead,
    Row,
    parking_type,
    read_location,
)
from pipeline.sources.uk_ocpi.records import LocationRecord, as_float, as_status, is_uk_country

__all__ = [  # the cleaning, and (re-exported) the aggregates and the conformance summary over its tables
    "Cleaned",
    "FeedLocations",
    "charge_point_counts",
    "clean_feeds",
    "conformance_markdown",
    "kw_text",
    "out_of_order_history",
    "out_of_order_week_over_week",
    "status_by_operator",
]


@dataclass(frozen=True)
class FeedLocations:
    """One operator's feed: its slug, display name and its locations in feed order (read once)."""

    operator: str  # the feed's slug, e.g. "chargy"
    name: str  # the feed's display name, e.g. "char.gy" (the CSV's Operator column)
    locations: Iterable[tuple[str, object]]  # (where, raw decoded JSON), where like "page 3, item 17"


@dataclass(frozen=True)
class Cleaned:
    """The cleaned tables of all feeds, what was rejected, and each feed's conformance."""

    locations: pd.DataFrame
    evses: pd.DataFrame
    connectors: pd.DataFrame
    rejects: pd.DataFrame
    conformance: pd.DataFrame


def clean_feeds(feeds: Iterable[FeedLocations], *, day: str | None = None) -> Cleaned:
    """Clean every feed's locations into the locations, EVSEs, connectors, rejects and conformance tables.

    `day` ("YYYY-MM-DD"), the snapshot's day, dates the stale-status count; without it the share is NaN.
    """
    before = stale_before(day)
    read: dict[str, FeedRead] = {}
    for feed in feeds:
        state = read.setdefault(feed.operator, FeedRead(feed.operator, feed.name, before))
        for where, raw in feed.locations:
            read_location(state, where, raw)
    tables: dict[str, list[Row]] = {"locations": [], "evses": [], "connectors": []}
    for state in read.values():
        _tabulate(state, tables)
    conformance = [
        conformance_row(
            state.counts,
            operator=state.operator,
            name=state.name,
            unknown_statuses=state.statuses,
            rejects=len(state.rejects),
            dated=before is not None,
        )
        for state in read.values()
    ]
    return Cleaned(
        locations=schema.frame(schema.Locations, tables["locations"]),
        evses=schema.frame(schema.Evses, tables["evses"]),
        connectors=schema.frame(schema.Connectors, tables["connectors"]),
        rejects=rejects_frame([row for state in read.values() for row in state.rejects]),
        conformance=schema.frame(schema.Conformance, conformance),
    )


def _tabulate(state: FeedRead, tables: dict[str, list[Row]]) -> None:
    """Append the feed's published UK locations, their EVSEs (but REMOVED ones) and their connectors."""
    published = {key: kept for key, kept in state.locations.items() if kept.record.publish}
    state.counts["locations"] = len(state.locations)
    state.counts["published_locations"] = len(published)
    state.counts["unpublished_locations"] = len(state.locations) - len(published)
    uk: dict[LocationKey, LocationRead] = {}
    for key, kept in published.items():
        if not is_uk_country(kept.record.country):
            state.counts["non_uk_locations"] += 1
            location, country = kept.record.id, kept.record.country
            reason = f"location {location!r} is in {country!r}, not the UK: left out of the UK outputs"
            state.rejects.append((f"{state.operator}: {kept.where}", reason, kept.raw))
            continue
        state.counts.update(kept.counts)
        state.counts[_place(kept.record)] += 1
        tables["locations"].append(_location_row(state, kept.record))
        uk[key] = kept
    evses = [
        (key, evse_key, evse, status)
        for key, kept in uk.items()
        for evse_key, evse in kept.evses.items()
        if (status := as_status(evse.record.status)) != schema.REMOVED
    ]
    state.counts["removed_evses"] += sum(len(kept.evses) for kept in uk.values()) - len(evses)
    sites: dict[EvseKey, set[LocationKey]] = {}
    for key, evse_key, _, _ in evses:
        sites.setdefault(evse_key, set()).add(key)
    for key, evse_key, evse, status in evses:
        state.counts["evses"] += 1
        state.counts["reused_evse_uids"] += len(sites[evse_key]) > 1
        state.counts.update(evse.counts)
        state.rejects.extend(evse.rejects)
        tables["evses"].append(_evse_row(state, evse, status, uk[key].record, tables["connectors"]))


def _place(location: LocationRecord) -> str:
    """Which plausibility count a location adds to: no_coordinates, outside_uk, swapped_coordinates."""
    latitude, longitude = location.coordinates
    if pd.isna(latitude) or pd.isna(longitude):
        return "no_coordinates"

    def in_uk(lat: float, lon: float) -> bool:
        (south, north), (west, east) = schema.UK_LATITUDE, schema.UK_LONGITUDE
        return south <= lat <= north and west <= lon <= east

    if in_uk(latitude, longitude):
        return "in_uk"
    return "swapped_coordinates" if in_uk(longitude, latitude) else "outside_uk"


def _location_row(state: FeedRead, location: LocationRecord) -> Row:
    postcode = normalise_postcode(location.postal_code)
    state.counts["no_postcode"] += not postcode
    return (
        state.operator,
        state.name,
        location.id,
        location.name,
        location.address,
        location.city,
        postcode,
        location.country,
        *location.coordinates,
        parking_type(location)[0],
        location.last_updated,
    )


def _evse_row(
    state: FeedRead, evse: EvseRead, status: str, location: LocationRecord, connectors: list[Row]
) -> Row:
    """The EVSE's row (its `status` read as OCPI's), its connectors' rows appended to `connectors`."""
    record = evse.record
    state.counts["statuses_not_upper_case"] += record.status != record.status.upper()
    state.counts["statuses_mapped"] += status != record.status.upper()
    if status and status not in schema.OCPI_STATUSES:
        state.statuses[status] += 1
    last_updated = record.last_updated or location.last_updated
    if state.stale_before is not None:
        state.counts["stale_evses"] += is_stale(last_updated, state.stale_before)
    name = record.uid or record.evse_id
    connectors.extend(
        (state.operator, location.id, name, *row, as_float(power), tariffs)
        for row, power, tariffs in evse.connectors
    )
    powers = [connector.power for connector in evse.connectors if connector.power is not None]
    state.counts["no_power_evses"] += not powers
    standards = "+".join(sorted({str(connector.row[1]) for connector in evse.connectors} - {""}))
    power_types = "+".join(sorted({str(connector.row[3]) for connector in evse.connectors} - {""}))
    return (
        state.operator,
        state.name,
        location.id,
        record.uid,
        record.evse_id,
        status,
        standards,
        power_types,
        kw_text(max(powers, default=None)),
        parking_type(location)[0],
        normalise_postcode(location.postal_code),
        location.city,
        *location.coordinates,
        last_updated,
    )


def kw_text(watts: Decimal | None) -> str:
    """W → kW with one decimal, rounded half up, no trailing zeros: 7400 → "7.4", 22000 → "22"; None → ""."""
    if watts is None:
        return ""
    text = f"{(watts / 1000).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
    return text.removesuffix(".0")
