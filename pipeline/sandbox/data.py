"""Deterministic synthetic data shaped like the two upstream APIs.

Every generator takes its own seeded ``random.Random`` so the same arguments always give the same data
(tests can assert exact counts) and nothing depends on global random state. Dirty values (None, missing
keys, empty strings, formula-looking text, odd date formats, duplicate devices) are placed on exactly
chosen records rather than drawn per record, so their counts are stable and sit at the stated rates.
"""

from __future__ import annotations

import random
from datetime import datetime

from pipeline.sandbox import _vocab as v
from pipeline.sandbox._draw import allot, random_moment, share
from pipeline.sandbox._registry import add_duplicates, build_device, postcode_pool, registry_specials

__all__ = ["make_registry", "make_stations"]

_INSTALL_START = datetime(2017, 1, 1)
_INSTALL_END = datetime(2025, 12, 31, 23, 59, 59)


def make_stations(count: int = 1234, *, seed: int = 7) -> list[dict]:
    """eConnect Masterdata station records, including the dirty values real CPO data carries.

    Ids are unique. Formula-like model names occur once per 300 stations (4 in the default data, none
    below 151 stations), so small test sets stay clean unless they ask for size.
    """
    rng = random.Random(seed)
    numbers = rng.sample(range(1, max(1_000_000, 2 * count)), count)
    specials = {
        "modelInfo": allot(
            rng,
            count,
            {
                "none": share(count, 0.03),
                "missing": share(count, 0.01),
                "empty": share(count, 0.01),
                **{f"formula{i}": 1 for i in range(round(count / 300))},
            },
        ),
        "type": allot(rng, count, {"none": share(count, 0.02)}),
        "state": allot(rng, count, {"none": share(count, 0.02), "missing": share(count, 0.01)}),
        "installDate": allot(
            rng,
            count,
            {"none": share(count, 0.02), **{f"garbage{i}": 1 for i in range(share(count, 0.01))}},
        ),
    }
    stations = []
    for index, number in enumerate(numbers):
        station = _station(rng, f"DE*EBS*E{number:06d}")
        _dirty_station(station, {field: chosen.get(index) for field, chosen in specials.items()})
        stations.append(station)
    return stations


def _station(rng: random.Random, station_id: str) -> dict:
    """One clean station; dirty values are applied afterwards by ``_dirty_station``."""
    model, current, _weight = rng.choices(v.ECONNECT_MODELS, weights=[m[2] for m in v.ECONNECT_MODELS])[0]
    city, lat, lon, zip_prefix = rng.choice(v.GERMAN_CITIES)
    street = rng.choice(v.GERMAN_STREETS)
    evse_count = rng.randint(1, 4) if current == "DC" else rng.randint(1, 2)
    power = rng.choice((50.0, 150.0, 300.0)) if current == "DC" else rng.choice((11.0, 22.0))
    return {
        "id": station_id,
        "name": f"{rng.choice(v.SITE_KINDS)} {city} {street}",
        "modelInfo": model,
        "installDate": _install_date(rng),
        "type": current,
        "state": rng.choices([s[0] for s in v.STATES], weights=[s[1] for s in v.STATES])[0],
        "address": {
            "street": f"{street} {rng.randint(1, 180)}",
            "city": city,
            "zip": f"{zip_prefix}{rng.randint(100, 999)}",
            "country": "DE",
        },
        "evses": [
            {
                "evseId": f"{station_id}*{k}",
                "maxPowerKw": power,
                "connectorType": "CCS2" if current == "DC" else "TYPE_2",
            }
            for k in range(1, evse_count + 1)
        ],
        "latitude": round(lat + rng.uniform(-0.08, 0.08), 6),
        "longitude": round(lon + rng.uniform(-0.12, 0.12), 6),
        "operatorId": "DE*EBS",
    }


def _dirty_station(station: dict, cases: dict[str, str | None]) -> None:
    """Overwrite the chosen fields with None / empty / missing / formula / garbage values."""
    for field, case in cases.items():
        if case is None:
            continue
        if case == "missing":
            del station[field]
        elif case == "none":
            station[field] = None
        elif case == "empty":
            station[field] = ""
        elif case.startswith("formula"):
            station[field] = v.FORMULA_NAMES[int(case.removeprefix("formula")) % len(v.FORMULA_NAMES)]
        elif case.startswith("garbage"):
            station[field] = v.GARBAGE_DATES[int(case.removeprefix("garbage")) % len(v.GARBAGE_DATES)]


def _install_date(rng: random.Random) -> str:
    """An ISO 8601 timestamp in one of the forms real CPO back ends emit (date only, Z, offsets...)."""
    moment = random_moment(rng, _INSTALL_START, _INSTALL_END)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    form = rng.randrange(6)
    if form == 0:
        return moment.date().isoformat()
    if form == 1:
        return f"{base}Z"
    if form == 2:
        return f"{base}{rng.choice(v.UTC_OFFSETS)}"
    if form == 3:
        return f"{base}.{rng.randrange(1000):03d}Z"
    if form == 4:
        return f"{base}.{rng.randrange(1_000_000):06d}{rng.choice(v.UTC_OFFSETS)}"
    return base


def make_registry(count: int = 2345, *, seed: int = 11) -> dict:
    """A UK National Chargepoint Registry document with ``count`` devices, a few exact duplicates among them.

    About one device in 470 is an exact copy of an earlier one placed later in the list (5 in the default
    data, none below 235 devices), as the real export occasionally repeats a device; the list length is
    exactly ``count``.
    """
    rng = random.Random(seed)
    duplicates = round(count / 470)
    unique = count - duplicates
    specials = registry_specials(rng, unique)
    pool = postcode_pool(rng)
    seen_ids: set[str] = set()
    devices = []
    for index in range(unique):
        cases = {field: chosen.get(index) for field, chosen in specials.items()}
        devices.append(build_device(rng, pool, cases, seen_ids))
    add_duplicates(rng, devices, duplicates)
    return {
        "Scheme": {
            "SchemeCode": "OCPI",
            "SchemeData": {
                "OrganisationName": "Office for Zero Emission Vehicles",
                "Website": "https://ncr.example.gov.uk",
                "TelephoneNo": "0300 330 3000",
            },
        },
        "ChargeDevice": devices,
    }
