"""Builds single UK National Chargepoint Registry devices; ``data.make_registry`` assembles the document.

Field names, nesting and value types (numbers as strings, ``"n/a"`` for DateDeleted, ``YYYY-MM-DD
HH:MM:SS`` timestamps) follow the real registry JSON export, because the ingestion code is written
against that format and should meet its quirks in the sandbox first.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime

from pipeline.sandbox import _vocab as v
from pipeline.sandbox._draw import allot, random_moment, share

Area = tuple[str, str, str, float, float]

_POOL_SIZE = 150
_CREATED_START = datetime(2019, 1, 1)
_CREATED_END = datetime(2023, 12, 31)
_UPDATED_END = datetime(2025, 12, 31, 23, 59, 59)
_TIMESTAMP = "%Y-%m-%d %H:%M:%S"


def postcode_pool(rng: random.Random, size: int = _POOL_SIZE) -> list[tuple[str, Area]]:
    """A fixed pool of postcodes, so that grouping by postcode yields groups with several devices."""
    by_outward = {area[0]: area for area in v.UK_AREAS}
    pool = [(code, by_outward[code.split()[0]]) for code in v.FIXED_POSTCODES]
    seen = set(v.FIXED_POSTCODES)
    while len(pool) < size:
        area = rng.choice(v.UK_AREAS)
        code = f"{area[0]} {rng.randint(1, 9)}{rng.choice(v.INWARD_LETTERS)}{rng.choice(v.INWARD_LETTERS)}"
        if code not in seen:
            seen.add(code)
            pool.append((code, area))
    return pool


def registry_specials(rng: random.Random, unique: int) -> dict[str, dict[int, str]]:
    """Per field, which device indices get which dirty value (rates as in ``data.make_registry``)."""
    return {
        "model": allot(
            rng,
            unique,
            {
                "none": share(unique, 0.04),
                "empty": share(unique, 0.02),
                **{f"awkward{i}": 1 for i in range(len(v.AWKWARD_MAKES))},
            },
        ),
        "manufacturer": allot(rng, unique, {"none": share(unique, 0.03)}),
        "location_type": allot(rng, unique, {"none": share(unique, 0.02)}),
        "postcode": allot(
            rng,
            unique,
            {
                "none": share(unique, 0.02),
                "empty": share(unique, 0.01),
                "lower": share(unique, 0.04),
                "nospace": share(unique, 0.04),
                "spaced": share(unique, 0.03),
            },
        ),
        "date_updated": allot(rng, unique, {"none": share(unique, 0.03)}),
    }


def add_duplicates(rng: random.Random, devices: list[dict], duplicates: int) -> None:
    """Insert deep copies of ``duplicates`` distinct devices, each somewhere after its original."""
    for original in [devices[i] for i in rng.sample(range(len(devices)), duplicates)]:
        position = next(i for i, device in enumerate(devices) if device is original)
        devices.insert(rng.randint(position + 1, len(devices)), copy.deepcopy(original))


def build_device(
    rng: random.Random,
    pool: list[tuple[str, Area]],
    cases: dict[str, str | None],
    seen_ids: set[str],
) -> dict:
    """One device; ``cases`` names the dirty value (if any) each field gets for this record."""
    device_id = _unique_hex_id(rng, seen_ids)
    make = rng.choice(v.NCR_MODELS)
    manufacturer: str | None = make[0]
    model: str | None = make[1]
    is_dc = make[2]
    model_case = cases["model"] or ""
    if model_case.startswith("awkward"):
        manufacturer, model = v.AWKWARD_MAKES[int(model_case.removeprefix("awkward"))]
    elif model_case in ("none", "empty"):
        model = None if model_case == "none" else ""
    if cases["manufacturer"] == "none":
        manufacturer = None
    postcode, area = rng.choice(pool)
    created = random_moment(rng, _CREATED_START, _CREATED_END)
    updated = random_moment(rng, created, _UPDATED_END)
    owner = _organisation(rng)
    location_type = None if cases["location_type"] == "none" else rng.choice(v.LOCATION_TYPES)
    return {
        "ChargeDeviceId": device_id,
        "ChargeDeviceRef": f"{owner['SchemeCode']}{rng.randint(10000, 99999)}",
        "ChargeDeviceName": f"{rng.choice(v.UK_STREETS)}, {area[1]}",
        "ChargeDeviceText": None,
        "ChargeDeviceLocation": _location(rng, postcode, area, cases["postcode"]),
        "ChargeDeviceManufacturer": manufacturer,
        "ChargeDeviceModel": model,
        "PublishStatusID": "1",
        "DateCreated": created.strftime(_TIMESTAMP),
        "DateUpdated": None if cases["date_updated"] == "none" else updated.strftime(_TIMESTAMP),
        "Attribution": rng.choice(v.ATTRIBUTIONS),
        "DateDeleted": "n/a",
        "Connector": _connectors(rng, is_dc=is_dc),
        "DeviceOwner": owner,
        "DeviceController": dict(owner) if rng.random() < 0.8 else _organisation(rng),
        "DeviceNetworks": owner["OrganisationName"],
        **_access(rng, location_type),
    }


def _access(rng: random.Random, location_type: str | None) -> dict:
    """Status, fee and access flags; mostly constant in the real export, so mostly constant here."""
    return {
        "DeviceAccess": [],
        "ChargeDeviceStatus": "In service",
        "PublishStatus": "Published",
        "DeviceValidated": "0",
        "ParkingFeesFlag": rng.random() < 0.3,
        "ParkingFeesDetails": None,
        "ParkingFeesUrl": None,
        "AccessRestrictionFlag": False,
        "AccessRestrictionDetails": None,
        "PhysicalRestrictionFlag": False,
        "PhysicalRestrictionText": None,
        "PaymentRequiredFlag": True,
        "PaymentDetails": None,
        "SubscriptionRequiredFlag": False,
        "SubscriptionDetails": None,
        "OnStreetFlag": location_type == "On-street",
        "LocationType": location_type,
        "Bearing": None,
        "Accessible24Hours": rng.random() < 0.7,
    }


def _unique_hex_id(rng: random.Random, seen_ids: set[str]) -> str:
    """32 lowercase hex characters, unique within one document (collisions are redrawn)."""
    while True:
        device_id = f"{rng.getrandbits(128):032x}"
        if device_id not in seen_ids:
            seen_ids.add(device_id)
            return device_id


def _location(rng: random.Random, postcode: str, area: Area, case: str | None) -> dict:
    """ChargeDeviceLocation with coordinates as strings, as the registry sends them."""
    _outward, town, county, lat, lon = area
    return {
        "Latitude": f"{lat + rng.uniform(-0.03, 0.03):.6f}",
        "Longitude": f"{lon + rng.uniform(-0.05, 0.05):.6f}",
        "Address": {
            "SubBuildingName": None,
            "BuildingName": rng.choice(v.UK_BUILDINGS),
            "BuildingNumber": str(rng.randint(1, 250)) if rng.random() < 0.6 else None,
            "Thoroughfare": rng.choice(v.UK_STREETS),
            "Street": rng.choice((None, "Town Centre", f"{town} Retail Park")),
            "DoubleDependantLocality": None,
            "DependantLocality": None,
            "PostTown": town,
            "County": county,
            "PostCode": _postcode_variant(postcode, case),
            "Country": "gb",
            "UPRN": None,
        },
        "LocationShortDescription": f"{town} {rng.choice(v.UK_STREETS)}",
        "LocationLongDescription": rng.choice(v.LOCATION_DESCRIPTIONS),
    }


def _postcode_variant(postcode: str, case: str | None) -> str | None:
    """The postcode as typed by whoever registered the device: case, spacing and blanks vary."""
    outward, inward = postcode.split()
    variants = {
        "none": None,
        "empty": "",
        "lower": postcode.lower(),
        "nospace": f"{outward}{inward}",
        "spaced": f" {outward.lower()}  {inward.lower()} ",
    }
    return variants.get(case, postcode) if case else postcode


def _connectors(rng: random.Random, *, is_dc: bool) -> list[dict]:
    """One to four connectors of the kinds a device of that current type carries."""
    kinds = v.DC_CONNECTORS if is_dc else v.AC_CONNECTORS
    connectors = []
    for number in range(1, rng.randint(1, 4) + 1):
        connector_type, kw, volts, amps, method = rng.choice(kinds)
        connectors.append(
            {
                "ConnectorId": str(number),
                "ConnectorType": connector_type,
                "RatedOutputkW": kw,
                "RatedOutputVoltage": volts,
                "RatedOutputCurrent": amps,
                "ChargeMethod": method,
                "ChargeMode": "4" if is_dc else "3",
                "ChargePointStatus": "In service",
                "TetheredCable": "1" if is_dc else "0",
                "Information": None,
                "Validated": "0",
            }
        )
    return connectors


def _organisation(rng: random.Random) -> dict:
    """An owner/controller block; the registry repeats the same organisations across many devices."""
    number = rng.randrange(len(v.ORGANISATIONS))
    name, scheme, website = v.ORGANISATIONS[number]
    return {
        "OrganisationName": name,
        "SchemeCode": scheme,
        "Website": website,
        "TelephoneNo": f"0300 {123 + number:03d} {4567 + 111 * number}",
    }
