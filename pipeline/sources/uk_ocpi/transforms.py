"""Pure cleaning for the UK OCPI feeds: each feed's (where, raw JSON) locations in, frames out.

No Dagster, no network, no files. What OCPI allows a feed to get wrong is kept and counted (the
conformance table); only what cannot be read at all goes to the rejects.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import pandas as pd
import pandera.pandas as pa

from pipeline.resources.metadata import markdown_text as _md
from pipeline.sources.contract import rejects_frame
from pipeline.sources.uk import month_updated, normalise_postcode
from pipeline.sources.uk_ocpi import schema
from pipeline.sources.uk_ocpi.schema import ConnectorRecord, EvseRecord, LocationRecord

Key = tuple[str, ...]  # location: (id,), or ("", where) without id; EVSE: ("uid", uid) or ("evse_id", id)
Row = tuple[object, ...]
Reject = tuple[str, str, str]  # location, reason, record (`pipeline.sources.contract.Rejects`)


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


@dataclass(frozen=True)
class _Location:
    record: LocationRecord
    missing: tuple[str, ...]  # its conformance columns `missing_location_*` that count it


@dataclass(frozen=True)
class _Evse:
    record: EvseRecord
    missing: tuple[str, ...]  # its own `missing_evse_*` columns and its connectors' `missing_connector_*`
    connectors: list[tuple[Row, Decimal | None]]  # (connector id … max_electric_power, power in W)
    rejects: list[Reject]  # its connectors that are not JSON objects: kept only if the EVSE is
    location: Key  # the location it came with


@dataclass
class _Feed:
    """What one operator's feed held, each location and EVSE id once (the later copy). Only what the
    tables need is kept of each raw record, so memory does not grow with what operators add to them."""

    operator: str
    name: str
    locations: dict[Key, _Location] = field(default_factory=dict)
    evses: dict[Key, _Evse] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)


def clean_feeds(feeds: Iterable[FeedLocations]) -> Cleaned:
    """Clean every feed's locations into the locations, EVSEs, connectors, rejects and conformance tables."""
    read: dict[str, _Feed] = {}
    for feed in feeds:
        state = read.setdefault(feed.operator, _Feed(feed.operator, feed.name))
        for where, raw in feed.locations:
            _read_location(state, where, raw)
    tables: dict[str, list[Row]] = {"locations": [], "evses": [], "connectors": []}
    for state in read.values():
        _tabulate(state, tables)
    return Cleaned(
        locations=_frame(schema.Locations, tables["locations"]),
        evses=_frame(schema.Evses, tables["evses"]),
        connectors=_frame(schema.Connectors, tables["connectors"]),
        rejects=rejects_frame([row for state in read.values() for row in state.rejects]),
        conformance=_frame(schema.Conformance, [_conformance_row(state) for state in read.values()]),
    )


def _reject(operator: str, where: str, reason: str, raw: object) -> Reject:
    return f"{operator}: {where}", reason, json.dumps(raw, ensure_ascii=False, default=str)


def _wrong(operator: str, where: str, rule: str, raw: object) -> Reject:
    """A value of the wrong JSON type: `rule` says what it must be, the reason adds what it was."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return _reject(operator, where, f"{rule}, not {names.get(type(raw), 'a number')}", raw)


def _read_location(state: _Feed, where: str, raw: object) -> None:
    if not isinstance(raw, dict):
        state.rejects.append(_wrong(state.operator, where, "a location must be a JSON object", raw))
        return
    record = LocationRecord.model_validate(raw)
    # OCPI ids are CiStrings: "loc1" and "LOC1" are the same location (and likewise for EVSE uids).
    key = (record.id.casefold(),) if record.id else ("", where)
    if key in state.locations:
        state.counts["duplicate_locations"] += 1
    state.locations.pop(key, None)  # re-inserted: the table follows each location's latest copy
    state.locations[key] = _Location(record, _missing("location", raw))
    evses = raw.get("evses")
    if not record.publish:
        return  # skipped: neither its fields nor its EVSEs are read
    if evses is not None and not isinstance(evses, list):
        state.rejects.append(_wrong(state.operator, where, "`evses` must be a JSON array", evses))
        return
    for index, evse in enumerate(evses or []):
        _read_evse(state, f"{where}, evses[{index}]", key, evse)


def _read_evse(state: _Feed, where: str, location: Key, raw: object) -> None:
    if not isinstance(raw, dict):
        state.rejects.append(_wrong(state.operator, where, "an EVSE must be a JSON object", raw))
        return
    record = EvseRecord.model_validate(raw)
    key = ("uid", record.uid.casefold()) if record.uid else ("evse_id", record.evse_id.casefold())
    if not key[1]:
        reason = "the EVSE has neither `uid` nor `evse_id`, so it cannot be identified"
        state.rejects.append(_reject(state.operator, where, reason, raw))
        return
    if key in state.evses:
        state.counts["duplicate_evses"] += 1
    connectors, missing, rejects = _read_connectors(state.operator, where, raw.get("connectors"))
    state.evses.pop(key, None)
    state.evses[key] = _Evse(record, _missing("evse", raw) + missing, connectors, rejects, location)


def _read_connectors(
    operator: str, where: str, raw: object
) -> tuple[list[tuple[Row, Decimal | None]], tuple[str, ...], list[Reject]]:
    """An EVSE's connectors as (row from id to max_electric_power, power in W), their missing fields,
    and the rejects among them."""
    if raw is not None and not isinstance(raw, list):
        return [], (), [_wrong(operator, where, "`connectors` must be a JSON array", raw)]
    connectors: list[tuple[Row, Decimal | None]] = []
    missing: list[str] = []
    rejects: list[Reject] = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, dict):
            rejects.append(
                _wrong(operator, f"{where}, connectors[{index}]", "a connector must be a JSON object", item)
            )
            continue
        missing.extend(_missing("connector", item))
        record = ConnectorRecord.model_validate(item)
        numbers = (record.max_voltage, record.max_amperage, record.max_electric_power)
        row = (record.id, record.standard, record.format, record.power_type, *map(_float, numbers))
        connectors.append((row, power_w(record)))
    return connectors, tuple(missing), rejects


def _missing(kind: str, raw: Mapping[str, object]) -> tuple[str, ...]:
    """The `missing_<kind>_<field>` columns `raw` counts in: fields absent, null, blank or empty."""
    return tuple(
        f"missing_{kind}_{name}"
        for name in schema.CHECKED_FIELDS[kind]
        if (value := raw.get(name)) is None
        or value == []
        or value == {}
        or (isinstance(value, str) and not value.strip())
    )


def _tabulate(state: _Feed, tables: dict[str, list[Row]]) -> None:
    """Append the feed's published locations, its EVSEs (but REMOVED ones) and their connectors."""
    published = {key: kept.record for key, kept in state.locations.items() if kept.record.publish}
    state.counts["locations"] = len(state.locations)
    state.counts["published_locations"] = len(published)
    state.counts["unpublished_locations"] = len(state.locations) - len(published)
    for kept in state.locations.values():
        if kept.record.publish:
            state.counts.update(kept.missing)
            state.counts[_place(kept.record)] += 1
            tables["locations"].append(_location_row(state, kept.record))
    for evse in state.evses.values():
        if evse.location not in published:  # the location's later copy is unpublished
            continue
        if evse.record.status.upper() == schema.REMOVED:
            state.counts["removed_evses"] += 1
            continue
        state.counts["evses"] += 1
        state.counts.update(evse.missing)
        state.rejects.extend(evse.rejects)
        tables["evses"].append(_evse_row(state, evse, published[evse.location], tables["connectors"]))


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


def _location_row(state: _Feed, location: LocationRecord) -> Row:
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
        location.parking_type,
        location.last_updated,
    )


def _evse_row(state: _Feed, evse: _Evse, location: LocationRecord, connectors: list[Row]) -> Row:
    record = evse.record
    status = record.status.upper()
    state.counts["statuses_not_upper_case"] += record.status != status
    if status and status not in schema.OCPI_STATUSES:
        state.statuses[status] += 1
    name = record.uid or record.evse_id
    connectors.extend(
        (state.operator, location.id, name, *row, _float(power)) for row, power in evse.connectors
    )
    powers = [power for _, power in evse.connectors if power is not None]
    state.counts["no_power_evses"] += not powers
    standards = "+".join(sorted({str(row[1]) for row, _ in evse.connectors} - {""}))
    power_types = "+".join(sorted({str(row[3]) for row, _ in evse.connectors} - {""}))
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
        location.parking_type,
        normalise_postcode(location.postal_code),
        location.city,
        *location.coordinates,
        record.last_updated or location.last_updated,
    )


def power_w(connector: ConnectorRecord) -> Decimal | None:
    """`max_electric_power` if > 0, else max_voltage × max_amperage × phases; None when neither is usable."""
    if connector.max_electric_power is not None and connector.max_electric_power > 0:
        return connector.max_electric_power
    volts, amps = connector.max_voltage, connector.max_amperage
    if volts is None or amps is None or volts <= 0 or amps <= 0:
        return None
    return volts * amps * schema.PHASES.get(connector.power_type.upper(), 1)


def _float(value: Decimal | None) -> float:
    return float("nan") if value is None else float(value)


def kw_text(watts: Decimal | None) -> str:
    """W → kW with one decimal, rounded half up, no trailing zeros: 7400 → "7.4", 22000 → "22"; None → ""."""
    if watts is None:
        return ""
    text = f"{(watts / 1000).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
    return text.removesuffix(".0")


def _conformance_row(state: _Feed) -> Row:
    unknown = ", ".join(f"{status}: {count}" for status, count in sorted(state.statuses.items()))
    values = {
        **state.counts,
        "operator": state.operator,
        "operator_name": state.name,
        "rejects": len(state.rejects),
        "unknown_statuses": unknown,
    }
    return tuple(values.get(name, 0) for name in _columns(schema.Conformance))


@cache
def _columns(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """The model's columns, in order, with the dtype each is cast to ("str", "int64", "float64")."""
    return {name: str(column.dtype) for name, column in model.to_schema().columns.items()}


def _frame(model: type[pa.DataFrameModel], rows: list[Row]) -> pd.DataFrame:
    dtypes = _columns(model)
    return pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)


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
    return "\n".join(
        [
            f"### {_md(row['operator_name'])} ({_md(row['operator'])})",
            f"- Locations: {row['locations']} ({row['published_locations']} published, "
            f"{row['unpublished_locations']} unpublished, {row['duplicate_locations']} served twice)",
            f"- EVSEs: {row['evses']} ({row['removed_evses']} removed left out, {row['duplicate_evses']} "
            f"served twice, {row['no_power_evses']} without power)",
            f"- Rejected values: {row['rejects']}",
            f"- Missing OCPI fields: {missing or 'none'}",
            f"- Statuses not in OCPI: {_md(row['unknown_statuses']) or 'none'}; "
            f"not in upper case: {row['statuses_not_upper_case']}",
            f"- Locations without coordinates: {row['no_coordinates']}, without postcode: "
            f"{row['no_postcode']}, outside the UK: {row['outside_uk']}, latitude and longitude swapped: "
            f"{row['swapped_coordinates']}",
        ]
    )


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
    return counts.reset_index(drop=True).astype(_columns(schema.ChargePointCounts))


def status_by_operator(evses: pd.DataFrame) -> pd.DataFrame:
    """EVSEs per operator (slug) and status, sorted by both."""
    counts = evses[["operator", "status"]].astype(str).value_counts(sort=False).rename("evses").reset_index()
    counts = counts.reindex(columns=["operator", "status", "evses"]).sort_values(["operator", "status"])
    return counts.reset_index(drop=True).astype(_columns(schema.StatusByOperator))


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
    columns = _columns(schema.OutOfOrderHistory)
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
    result = pd.DataFrame(
        {"operator": operators, "week_before": before, "today": today, "change": today - before},
        columns=list(_columns(schema.OutOfOrderWeekOverWeek)),
    )
    return result.astype(_columns(schema.OutOfOrderWeekOverWeek))
