"""Reading one feed's locations: each location once (its later copy), each EVSE once within it.

Only what the tables need is kept of each raw record, so memory does not grow with what operators add to
them. What cannot be read at all becomes a reject; what OCPI allows a feed to get wrong is counted by the
conformance column it belongs to.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from pipeline.sources.uk_ocpi import schema
from pipeline.sources.uk_ocpi.records import (
    NO_PARKING_TYPE,
    ConnectorRecord,
    EvseRecord,
    LocationRecord,
    as_float,
    is_uk_country,
)

LocationKey = tuple[str, ...]  # (id,) casefolded, or ("", where) for a location without id
EvseKey = tuple[str, str]  # ("uid", uid) or ("evse_id", evse_id), casefolded
Row = tuple[object, ...]
Reject = tuple[str, str, str]  # location, reason, record (`pipeline.sources.contract.Rejects`)
OCPI_211_POWER = "ocpi_211_powers"
OCPI_211_PARKING = "ocpi_211_parking_types"


class ConnectorRead(NamedTuple):
    row: Row  # connector id … max_electric_power
    power: Decimal | None  # in W
    tariffs: str  # the tariffs it names, joined by `schema.TARIFF_SEPARATOR`


@dataclass(frozen=True)
class EvseRead:
    record: EvseRecord
    counts: tuple[str, ...]  # conformance columns that count it: its `missing_*`, its connectors' and 2.1.1's
    connectors: list[ConnectorRead]
    rejects: list[Reject]  # its connectors that are not JSON objects: kept only if the EVSE is


@dataclass
class LocationRead:
    record: LocationRecord
    counts: tuple[str, ...]  # conformance columns that count it: `missing_location_*`, 2.1.1's `type`
    where: str
    raw: str  # the JSON as sent, kept only for a location outside the UK (its reject's record)
    evses: dict[EvseKey, EvseRead] = field(default_factory=dict)


@dataclass
class FeedRead:
    """What one operator's feed held, each location once (its later copy) with its EVSEs."""

    operator: str
    name: str
    stale_before: datetime | None
    locations: dict[LocationKey, LocationRead] = field(default_factory=dict)
    idless: dict[EvseKey, LocationKey] = field(default_factory=dict)  # EVSEs of locations without id
    counts: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    rejects: list[Reject] = field(default_factory=list)


def reject(operator: str, where: str, reason: str, raw: object) -> Reject:
    return f"{operator}: {where}", reason, as_json(raw)


def as_json(raw: object) -> str:
    return json.dumps(raw, ensure_ascii=False, default=str)


def _wrong(operator: str, where: str, rule: str, raw: object) -> Reject:
    """A value of the wrong JSON type: `rule` says what it must be, the reason adds what it was."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return reject(operator, where, f"{rule}, not {names.get(type(raw), 'a number')}", raw)


def read_location(state: FeedRead, where: str, raw: object) -> None:
    """Read one location into `state`: it replaces an earlier copy (same id), EVSEs and all."""
    if not isinstance(raw, dict):
        state.rejects.append(_wrong(state.operator, where, "a location must be a JSON object", raw))
        return
    record = LocationRecord.model_validate(raw)
    key = (record.id.casefold(),) if record.id else ("", where)
    earlier = state.locations.pop(key, None)  # re-inserted: the table follows each location's latest copy
    state.counts["duplicate_locations"] += earlier is not None
    uk = is_uk_country(record.country)
    counts = _missing("location", raw) + ((OCPI_211_PARKING,) if parking_type(record)[1] else ())
    location = LocationRead(record, counts, where, "" if uk else as_json(raw))
    state.locations[key] = location
    if not record.publish or not uk:
        return  # left out: neither its fields nor its EVSEs are read
    evses = raw.get("evses")
    if evses is not None and not isinstance(evses, list):
        state.rejects.append(_wrong(state.operator, where, "`evses` must be a JSON array", evses))
        return
    replaced = earlier.evses if earlier is not None else {}
    for index, evse in enumerate(evses or []):
        _read_evse(state, f"{where}, evses[{index}]", key, evse, replaced)


def _read_evse(
    state: FeedRead, where: str, location_key: LocationKey, raw: object, replaced: Mapping[EvseKey, EvseRead]
) -> None:
    """Read one EVSE into its location; `replaced` holds the EVSEs of the location's earlier copy."""
    if not isinstance(raw, dict):
        state.rejects.append(_wrong(state.operator, where, "an EVSE must be a JSON object", raw))
        return
    record = EvseRecord.model_validate(raw)
    key = evse_key(record)
    if not key[1]:
        reason = "the EVSE has neither `uid` nor `evse_id`, so it cannot be identified"
        state.rejects.append(reject(state.operator, where, reason, raw))
        return
    location = state.locations[location_key]
    state.counts["duplicate_evses"] += key in location.evses or key in replaced
    if not location.record.id:  # operator + uid: the same EVSE at another location without id is replaced
        owner = state.idless.get(key)
        other = state.locations.get(owner) if owner is not None and owner != location_key else None
        state.counts["duplicate_evses"] += other is not None and other.evses.pop(key, None) is not None
        state.idless[key] = location_key
    connectors, counts, rejects = _read_connectors(state.operator, where, raw.get("connectors"))
    location.evses.pop(key, None)  # re-inserted: a later copy in the same location wins
    location.evses[key] = EvseRead(record, _missing("evse", raw) + counts, connectors, rejects)


def evse_key(record: EvseRecord) -> EvseKey:
    return ("uid", record.uid.casefold()) if record.uid else ("evse_id", record.evse_id.casefold())


def _read_connectors(
    operator: str, where: str, raw: object
) -> tuple[list[ConnectorRead], tuple[str, ...], list[Reject]]:
    """An EVSE's connectors as read, the conformance columns they count in, and the rejects among them."""
    if raw is not None and not isinstance(raw, list):
        return [], (), [_wrong(operator, where, "`connectors` must be a JSON array", raw)]
    connectors: list[ConnectorRead] = []
    counts: list[str] = []
    rejects: list[Reject] = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, dict):
            rejects.append(
                _wrong(operator, f"{where}, connectors[{index}]", "a connector must be a JSON object", item)
            )
            continue
        counts.extend(_missing("connector", item))
        record = ConnectorRecord.model_validate(item)
        volts, amps = volts_amps(record)
        power = _given_power(record)
        if power is None and (power := _derived_power(volts, amps, record.power_type)) and _reads_211(record):
            counts.append(OCPI_211_POWER)
        numbers = (volts, amps, record.max_electric_power)
        row = (record.id, record.standard, record.format, record.power_type, *map(as_float, numbers))
        connectors.append(ConnectorRead(row, power, schema.TARIFF_SEPARATOR.join(record.tariffs())))
    return connectors, tuple(counts), rejects


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


def parking_type(location: LocationRecord) -> tuple[str, bool]:
    """The parking type upper-cased, and whether it was read from OCPI 2.1.1's `type` (when `parking_type`
    is absent; its OTHER and UNKNOWN say nothing about the parking and give "")."""
    if location.parking_type or not location.type:
        return location.parking_type.upper(), False
    kind = location.type.upper()
    return ("" if kind in NO_PARKING_TYPE else kind), True


def volts_amps(connector: ConnectorRecord) -> tuple[Decimal | None, Decimal | None]:
    """`max_voltage` and `max_amperage`, each else OCPI 2.1.1's `voltage` and `amperage`."""
    volts, amps = connector.max_voltage, connector.max_amperage
    return (
        connector.voltage if volts is None else volts,
        connector.amperage if amps is None else amps,
    )


def _reads_211(connector: ConnectorRecord) -> bool:
    """Whether `volts_amps` reads OCPI 2.1.1's `voltage` or `amperage`."""
    return (connector.max_voltage is None and connector.voltage is not None) or (
        connector.max_amperage is None and connector.amperage is not None
    )


def _derived_power(volts: Decimal | None, amps: Decimal | None, power_type: str) -> Decimal | None:
    if volts is None or amps is None or volts <= 0 or amps <= 0:
        return None
    return volts * amps * schema.PHASES.get(power_type.upper(), 1)


def _given_power(connector: ConnectorRecord) -> Decimal | None:
    """`max_electric_power` when usable (> 0; 0 is how some feeds say "unknown")."""
    power = connector.max_electric_power
    return power if power is not None and power > 0 else None
