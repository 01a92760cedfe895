"""What real UK feeds send that OCPI 2.2.1 does not say: ``make_locations`` output turned into each variant.

Every function takes a list of OCPI 2.2.1 Location objects (as ``make_locations`` returns them) and returns a
new list (the input is never changed), deterministically: a variant depends only on its input, so a fake
operator serves the same bytes every day and a test can state exact counts. ``VARIANTS`` names them and
``apply`` chains several, as one back office does:

| variant                | what changes                                                                     |
|------------------------|----------------------------------------------------------------------------------|
| `ocpi_211`             | connectors with `voltage`/`amperage` (no `max_*`), a singular `tariff_id`;       |
|                        | location `type` (OCPI 2.1.1's LocationType) instead of `parking_type`            |
| `per_site_uids`        | EVSE uids numbered per location: "1", "2", ... at every site                     |
| `numeric_ids`          | location `id`, EVSE `uid` and `evse_id`, connector `id` as JSON numbers          |
| `null_uids`            | every EVSE `uid: null` (known by `evse_id` only)                                  |
| `without_location_ids` | no `id` on any location                                                          |
| `without_party`        | no `country_code`/`party_id`; `operator: null`                                   |
| `real_statuses`        | `WORKING`, `FAULTED`, `OUT_OF_ORDER`, lower-case `available`, `preparing`, ...   |
| `numeric_coordinates`  | latitude and longitude as JSON numbers                                           |
| `loose_timestamps`     | `last_updated` without `Z`, with `+00:00`, with milliseconds (the same instant)  |
| `power_quirks`         | `max_amperage: 0`, `max_voltage: 220` on DC, `IEC_62196_T2_COMBO` with           |
|                        | `AC_3_PHASE`, standard `CCS2`: only where `max_electric_power` keeps the power   |
| `abroad`               | one more site, in Sydney (`country: "AUS"`), as Evolt's feed holds               |
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Iterator, Sequence

from pipeline.sandbox._ocpi_tariffs import CASES as PRICE_CASES
from pipeline.sandbox._ocpi_tariffs import reference

Locations = list[dict]

# OCPI 2.1.1's LocationType: 2.2.1's ParkingType values it has keep their name, the others are OTHER.
LOCATION_TYPES_211 = ("ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT", "OTHER", "UNKNOWN")
# How real feeds write each OCPI status, used in turn (the first also keeps some statuses as OCPI's).
REAL_STATUSES: dict[str, tuple[str, ...]] = {
    "AVAILABLE": ("AVAILABLE", "available", "WORKING"),
    "CHARGING": ("charging", "preparing", "CHARGING"),
    "OUTOFORDER": ("OUT_OF_ORDER", "FAULTED", "OUTOFORDER"),
    "INOPERATIVE": ("inoperative", "INOPERATIVE"),
}
SYDNEY = {"latitude": -33.8688, "longitude": 151.2093}
_DIGITS = re.compile(r"\d+")


def _evses(locations: Locations) -> Iterator[dict]:
    for location in locations:
        yield from (evse for evse in location.get("evses", []) if isinstance(evse, dict))


def _connectors(locations: Locations) -> Iterator[dict]:
    for evse in _evses(locations):
        yield from (item for item in evse.get("connectors", []) if isinstance(item, dict))


def ocpi_211(locations: Sequence[dict]) -> Locations:
    """OCPI 2.1.1's names: connectors with `voltage`, `amperage` and one `tariff_id`, no `max_*` fields
    (2.1.1 has no `max_electric_power`: power is volts × amps × phases); location `type`, not
    `parking_type` (ALONG_MOTORWAY, which 2.1.1 lacks, becomes OTHER)."""
    result = copy.deepcopy(list(locations))
    for connector in _connectors(result):
        for old, new in (("max_voltage", "voltage"), ("max_amperage", "amperage")):
            if old in connector:
                connector[new] = connector.pop(old)
        connector.pop("max_electric_power", None)
        if tariffs := connector.pop("tariff_ids", None):
            connector["tariff_id"] = tariffs[0]
    for location in result:
        if "parking_type" in location:
            kind = location.pop("parking_type")
            location["type"] = kind if kind in LOCATION_TYPES_211 else "OTHER"
    return result


def per_site_uids(locations: Sequence[dict]) -> Locations:
    """EVSE uids numbered per location, "1", "2", ... (as real feeds do, though OCPI says a uid is unique
    per operator); an EVSE without uid keeps none."""
    result = copy.deepcopy(list(locations))
    for location in result:
        evses = [evse for evse in location.get("evses", []) if isinstance(evse, dict)]
        for number, evse in enumerate(evses, start=1):
            if "uid" in evse:
                evse["uid"] = str(number)
    return result


def _number(text: object, *, suffix: int | None = None) -> object:
    """An id as a JSON number: digits only as they read ("2" → 2); else its first digits ("SLI-01234" →
    1234), × 10 + `suffix` when given (12342); an id without digits as is."""
    if not isinstance(text, str) or not (digits := _DIGITS.findall(text)):
        return text
    if text.isdigit() or suffix is None:
        return int(digits[0])
    return int(digits[0]) * 10 + suffix


def numeric_ids(locations: Sequence[dict]) -> Locations:
    """Location `id`, EVSE `uid` and `evse_id`, connector `id` as JSON numbers: a location's number, an
    EVSE's is its location's × 10 + its place (``make_locations`` gives at most 4), a connector's its own."""
    result = copy.deepcopy(list(locations))
    for location in result:
        if "id" in location:
            location["id"] = _number(location["id"])
        for place, evse in enumerate(_evses([location]), start=1):
            for key in ("uid", "evse_id"):
                if key in evse:
                    evse[key] = _number(evse[key], suffix=place)
            for connector in (item for item in evse.get("connectors", []) if isinstance(item, dict)):
                if "id" in connector:
                    connector["id"] = _number(connector["id"])
    return result


def null_uids(locations: Sequence[dict]) -> Locations:
    """Every EVSE's `uid: null`: each is known by its `evse_id` only."""
    result = copy.deepcopy(list(locations))
    for evse in _evses(result):
        evse["uid"] = None
    return result


def without_location_ids(locations: Sequence[dict]) -> Locations:
    """No location has an `id`."""
    result = copy.deepcopy(list(locations))
    for location in result:
        location.pop("id", None)
    return result


def without_party(locations: Sequence[dict]) -> Locations:
    """No `country_code` or `party_id`, and `operator: null`, on every location."""
    result = copy.deepcopy(list(locations))
    for location in result:
        location.pop("country_code", None)
        location.pop("party_id", None)
        location["operator"] = None
    return result


def real_statuses(locations: Sequence[dict]) -> Locations:
    """Each EVSE status written as real feeds write it, `REAL_STATUSES` used in turn per status."""
    result = copy.deepcopy(list(locations))
    turns = {status: itertools.cycle(spellings) for status, spellings in REAL_STATUSES.items()}
    for evse in _evses(result):
        if (status := evse.get("status")) in turns:
            evse["status"] = next(turns[status])
    return result


def numeric_coordinates(locations: Sequence[dict]) -> Locations:
    """Latitude and longitude as JSON numbers (strings that hold no number are kept)."""
    result = copy.deepcopy(list(locations))
    for location in result:
        point = location.get("coordinates")
        if not isinstance(point, dict):
            continue
        for key in ("latitude", "longitude"):
            try:
                point[key] = float(point[key])
            except (KeyError, TypeError, ValueError):
                continue
    return result


_STAMP_FORMS: tuple[Callable[[str], str], ...] = (
    lambda stamp: stamp.removesuffix("Z"),  # no zone
    lambda stamp: stamp.removesuffix("Z") + "+00:00",
    lambda stamp: stamp.removesuffix("Z") + ".000Z",  # milliseconds
)


def loose_timestamps(locations: Sequence[dict]) -> Locations:
    """Every `last_updated` ending in `Z` written another way, in turn: without `Z`, with `+00:00`, with
    milliseconds; the instant is the same."""
    result = copy.deepcopy(list(locations))
    forms = itertools.cycle(_STAMP_FORMS)
    for record in itertools.chain(result, _evses(result), _connectors(result)):
        stamp = record.get("last_updated")
        if isinstance(stamp, str) and stamp.endswith("Z"):
            record["last_updated"] = next(forms)(stamp)
    return result


def power_quirks(locations: Sequence[dict]) -> Locations:
    """On connectors whose `max_electric_power` is given (so their power is unchanged), in turn: AC gets
    `max_amperage: 0`; DC gets `max_voltage: 220`, or standard `CCS2`, or power type `AC_3_PHASE`."""
    result = copy.deepcopy(list(locations))
    dc_turn = itertools.cycle(("max_voltage", "standard", "power_type"))
    for connector in _connectors(result):
        power = connector.get("max_electric_power")
        if not isinstance(power, int | float) or power <= 0:
            continue
        if connector.get("power_type") != "DC":
            connector["max_amperage"] = 0
        elif (quirk := next(dc_turn)) == "max_voltage":
            connector["max_voltage"] = 220
        elif quirk == "standard":
            connector["standard"] = "CCS2"
        elif connector.get("standard") == "IEC_62196_T2_COMBO":
            connector["power_type"] = "AC_3_PHASE"
    return result


def abroad(locations: Sequence[dict]) -> Locations:
    """The locations and one more: a copy of the first, moved to Sydney (`country: "AUS"`), with its own
    id and EVSE ids (suffixed "-AUS"). No locations: none added."""
    result = copy.deepcopy(list(locations))
    if not result:
        return result
    site = copy.deepcopy(result[0])
    site.update(city="Sydney", postal_code="2000", country="AUS", address="1 George Street")
    site["coordinates"] = {key: f"{value:.6f}" for key, value in SYDNEY.items()}
    site["id"] = f"{site.get('id', 'SITE')}-AUS"
    for evse in _evses([site]):
        for key in ("uid", "evse_id"):
            if isinstance(evse.get(key), str):
                evse[key] = f"{evse[key]}-AUS"
    return [*result, site]


def priced(locations: Sequence[dict]) -> Locations:
    """Each connector pointed, in turn, at one of `_ocpi_tariffs`' cases under its location's party (named
    in upper case, as a feed may), at no tariff, or at a tariff nobody publishes: the feed's tariffs
    endpoint must then publish `tariff_set(party)` for the cases to be found."""
    result = copy.deepcopy(list(locations))
    turns = itertools.cycle([*PRICE_CASES, "", "unpublished"])
    for location in result:
        party = str(location.get("party_id") or "SBX")
        for evse in location.get("evses") or []:
            for connector in evse.get("connectors") or []:
                case = next(turns)
                ids = (
                    [reference(party, case)] if case in PRICE_CASES else [f"{party}-NOWHERE"] if case else []
                )
                connector["tariff_ids"] = ids
    return result


VARIANTS: dict[str, Callable[[Sequence[dict]], Locations]] = {
    "ocpi_211": ocpi_211,
    "per_site_uids": per_site_uids,
    "numeric_ids": numeric_ids,
    "null_uids": null_uids,
    "without_location_ids": without_location_ids,
    "without_party": without_party,
    "real_statuses": real_statuses,
    "numeric_coordinates": numeric_coordinates,
    "loose_timestamps": loose_timestamps,
    "power_quirks": power_quirks,
    "abroad": abroad,
    "priced": priced,
}


def apply(locations: Sequence[dict], *names: str) -> Locations:
    """``locations`` turned by each named variant, in order; ValueError naming an unknown one."""
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variants {unknown}; expected some of {list(VARIANTS)}")
    result = copy.deepcopy(list(locations))
    for name in names:
        result = VARIANTS[name](result)
    return result
