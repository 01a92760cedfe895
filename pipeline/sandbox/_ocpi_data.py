"""The fake UK OCPI operators: the Locations each publishes, bent the ways real UK feeds bend the spec,
and who they are (``FeedSpec``, ``DEFAULT_FEEDS``).

Objects, field names and enums follow OCPI 2.2.1 (`mod_locations`: Location, EVSE, Connector; coordinates
as strings; power in W). Clean records never carry a dirty value; each dirty case in ``CASES`` is put on
exactly chosen locations (one case per location, first EVSE / its only connector for EVSE and connector
cases), so every count is exact: a feed of at least ``sum(CASES.values())`` (28) locations carries every
case exactly ``CASES[case]`` times, and ``location_cases`` says which index carries which.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.sandbox._draw import allot, random_moment
from pipeline.sandbox._ocpi_hostile import Hostile
from pipeline.sandbox._ocpi_wire import QUIRKS
from pipeline.sandbox._registry import postcode_pool
from pipeline.sandbox.faults import Fault

# (standard, format, power_type, max_voltage, max_amperage, max_electric_power or None)
Connector = tuple[str, str, str, int, int, int | None]

PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}

# Connectors on clean records: realistic, and never one of the boundary powers the cases below place.
_CLEAN_AC: tuple[Connector, ...] = (
    ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 32, 7000),
    ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 16, 3700),
    ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 16, 11000),
    ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 63, 43000),
)
_CLEAN_DC: tuple[Connector, ...] = (
    ("IEC_62196_T2_COMBO", "CABLE", "DC", 500, 125, 50000),
    ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 200, 120000),
    ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 500, 350000),
)
_CHADEMO: Connector = ("CHADEMO", "CABLE", "DC", 500, 125, 50000)
_PLUG_G: Connector = ("DOMESTIC_G", "SOCKET", "AC_1_PHASE", 230, 13, 3000)

# Connector cases: the first EVSE of the chosen location gets this one connector. Without
# max_electric_power the power is max_voltage x max_amperage x phases (line to neutral for AC, per spec).
_CASE_CONNECTORS: dict[str, Connector] = {
    "derived_ac3": ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 32, None),  # 22080 W
    "derived_ac2": ("IEC_62196_T2", "SOCKET", "AC_2_PHASE", 230, 32, None),  # 14720 W
    "derived_ac2_split": ("IEC_62196_T2", "SOCKET", "AC_2_PHASE_SPLIT", 120, 40, None),  # 9600 W
    "derived_ac1": ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 16, None),  # 3680 W
    "derived_dc": ("IEC_62196_T2_COMBO", "CABLE", "DC", 500, 300, None),  # 150000 W
    "power_zero": ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 32, 0),  # 0 means unknown: 7360 W derived
    "numbers_as_strings": ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 16, 11000),  # "230", "16", "11000"
    "power_7400": ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 32, 7400),  # 7.4 kW, above 230 V x 32 A
    "power_22000": ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 230, 32, 22000),  # 22 kW
    "power_22080": ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 230, 32, 22080),  # 22.1 kW
    "power_150000": ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 400, 150000),  # capped below 920 V x 400 A
}

# Dirty case -> number of locations carrying it, in the order small feeds keep them.
CASES: dict[str, int] = {
    "no_id": 1,
    "no_publish": 1,
    "publish_false": 1,
    "no_coordinates": 1,
    "swapped_coordinates": 1,
    "longitude_unsigned": 1,  # a western longitude without its minus sign
    "postcode_spaced": 1,  # " tw6  2rq "
    "postcode_nospace": 1,  # "tw62rq"
    "no_postal_code": 1,
    "status_lower": 2,  # a valid status in lower case ("available", ...)
    "status_working": 1,  # "WORKING", not an OCPI status
    "removed_upper": 1,  # "REMOVED"
    "removed_lower": 1,  # "removed"
    "evse_id_only": 1,  # EVSE without uid, with evse_id
    "evse_no_ids": 1,  # EVSE with neither uid nor evse_id
    **{case: 2 if case == "numbers_as_strings" else 1 for case in _CASE_CONNECTORS},
}

# Effective power (W) of each connector case's connector: max_electric_power when given and > 0, else derived.
CASE_POWER_W: dict[str, int] = {
    case: power or voltage * amperage * PHASES[power_type]
    for case, (_std, _fmt, power_type, voltage, amperage, power) in _CASE_CONNECTORS.items()
}

_STATUSES = (
    "AVAILABLE",
    "CHARGING",
    "OUTOFORDER",
    "INOPERATIVE",
    "BLOCKED",
    "UNKNOWN",
    "RESERVED",
    "PLANNED",
)
_STATUS_WEIGHTS = (60, 20, 6, 4, 3, 3, 2, 2)
_PARKING_TYPES = ("ON_STREET", "PARKING_LOT", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "ALONG_MOTORWAY")
_SITES = ("Car Park", "Retail Park", "Leisure Centre", "Hotel", "Services", "Station Car Park", "Library")
_STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Road", "London Road")
_TARIFF_PRICES = (0.55, 0.69, 0.79)  # GBP per kWh excl. VAT; tariff 3 is the rapid one
_SINCE = datetime(2024, 11, 24)  # the Public Charge Point Regulations' open-data duty starts
_UNTIL = datetime(2025, 12, 31, 23, 59, 59)


def party_id(operator: str) -> str:
    """A readable 3-character OCPI party id from the slug: initials, then the last word ("sandbox_link": SLI).

    Not unique across operators; a reader keys locations by feed (operator) and id, as the feeds are separate.
    """
    words = [word for word in operator.upper().split("_") if word]
    letters = "".join(word[0] for word in words) + (words[-1][1:] if words else "")
    return ("".join(ch for ch in letters if ch.isalnum()) + "XXX")[:3]


def location_cases(operator: str, count: int, *, seed: int) -> dict[int, str]:
    """Location index -> the dirty case ``make_locations(operator, count, seed=seed)`` puts on it."""
    return _cases(random.Random(f"{operator}:{seed}"), count)


def make_locations(operator: str, count: int, *, seed: int) -> list[dict]:
    """``count`` OCPI 2.2.1 Location objects of UK sites of ``operator``, with the dirty cases in ``CASES``.

    Deterministic in (operator, count, seed); two operators with the same seed get different data.
    """
    rng = random.Random(f"{operator}:{seed}")
    cases = _cases(rng, count)
    party = party_id(operator)
    pool = postcode_pool(rng)
    western = [entry for entry in pool if entry[1][4] < -0.5]  # never near 0 degrees, so "-" is missing
    numbers = rng.sample(range(1, 100_000), count)
    locations = []
    for index, number in enumerate(numbers):
        case = cases.get(index, "")
        if case.startswith("postcode_"):
            postcode, area = pool[0]  # "TW6 2RQ", so the variants read exactly " tw6  2rq " and "tw62rq"
        else:
            postcode, area = rng.choice(western if case == "longitude_unsigned" else pool)
        location = _location(rng, party, number, postcode, area)
        _dirty(location, case)
        locations.append(location)
    return locations


def make_tariffs(operator: str) -> list[dict]:
    """The few OCPI 2.2.1 Tariff objects the connectors' ``tariff_ids`` refer to."""
    party = party_id(operator)
    return [
        {
            "country_code": "GB",
            "party_id": party,
            "id": f"{party}-T{number}",
            "currency": "GBP",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": price, "vat": 20.0, "step_size": 1}]}
            ],
            "last_updated": "2024-11-24T00:00:00Z",
        }
        for number, price in enumerate(_TARIFF_PRICES, start=1)
    ]


def _cases(rng: random.Random, count: int) -> dict[int, str]:
    return allot(rng, count, CASES)


def _location(rng: random.Random, party: str, number: int, postcode: str, area: tuple) -> dict:
    """One clean Location; children are updated no later than their parent, as the spec requires."""
    _outward, town, _county, lat, lon = area
    street = rng.choice(_STREETS)
    updated = random_moment(rng, _SINCE, _UNTIL)
    location_id = f"{party}-{number:05d}"
    is_dc = rng.random() < 0.3
    evses = [_evse(rng, party, number, k, is_dc, updated) for k in range(1, rng.randint(1, 4) + 1)]
    return {
        "country_code": "GB",
        "party_id": party,
        "id": location_id,
        "publish": True,
        "name": f"{town} {rng.choice(_SITES)}",
        "address": f"{rng.randint(1, 250)} {street}",
        "city": town,
        "postal_code": postcode,
        "country": "GBR",
        "coordinates": {
            "latitude": f"{lat + rng.uniform(-0.03, 0.03):.6f}",
            "longitude": f"{lon + rng.uniform(-0.05, 0.05):.6f}",
        },
        "parking_type": rng.choice(_PARKING_TYPES),
        "evses": evses,
        "time_zone": "Europe/London",
        "last_updated": _stamp(updated),
    }


def _evse(rng: random.Random, party: str, number: int, k: int, is_dc: bool, parent: datetime) -> dict:
    updated = parent - timedelta(seconds=rng.randrange(90 * 86400))
    if is_dc:
        specs = [rng.choice(_CLEAN_DC), *([_CHADEMO] if rng.random() < 0.4 else [])]
    else:
        specs = [rng.choice(_CLEAN_AC), *([_PLUG_G] if rng.random() < 0.15 else [])]
    tariff = f"{party}-T3" if is_dc else f"{party}-T{rng.randint(1, 2)}"
    return {
        "uid": f"{party}-{number:05d}-{k}",
        "evse_id": f"GB*{party}*E{number:05d}*{k}",
        "status": rng.choices(_STATUSES, weights=_STATUS_WEIGHTS)[0],
        "capabilities": ["CONTACTLESS_CARD_SUPPORT", "RFID_READER"]
        if rng.random() < 0.7
        else ["RFID_READER"],
        "connectors": [_connector(spec, str(c), tariff, updated) for c, spec in enumerate(specs, start=1)],
        "last_updated": _stamp(updated),
    }


def _connector(spec: Connector, connector_id: str, tariff: str, updated: datetime) -> dict:
    standard, form, power_type, voltage, amperage, power = spec
    connector: dict = {
        "id": connector_id,
        "standard": standard,
        "format": form,
        "power_type": power_type,
        "max_voltage": voltage,
        "max_amperage": amperage,
        "max_electric_power": power,
        "tariff_ids": [tariff],
        "last_updated": _stamp(updated),
    }
    if power is None:
        del connector["max_electric_power"]
    return connector


def _dirty(location: dict, case: str) -> None:
    """Apply ``case`` to a clean location (EVSE and connector cases to its first EVSE)."""
    evse = location["evses"][0]
    coordinates = location["coordinates"]
    if case in ("no_id", "no_publish", "no_coordinates", "no_postal_code"):
        del location[case.removeprefix("no_")]
    elif case == "publish_false":
        location["publish"] = False
    elif case == "swapped_coordinates":
        coordinates["latitude"], coordinates["longitude"] = coordinates["longitude"], coordinates["latitude"]
    elif case == "longitude_unsigned":
        coordinates["longitude"] = coordinates["longitude"].removeprefix("-")
    elif case in ("postcode_spaced", "postcode_nospace"):
        outward, inward = location["postal_code"].lower().split()
        location["postal_code"] = f" {outward}  {inward} " if case == "postcode_spaced" else outward + inward
    elif case in ("status_lower", "status_working", "removed_upper", "removed_lower"):
        statuses = {"status_working": "WORKING", "removed_upper": "REMOVED", "removed_lower": "removed"}
        evse["status"] = statuses.get(case, evse["status"].lower())
    elif case == "evse_id_only":
        del evse["uid"]
    elif case == "evse_no_ids":
        del evse["uid"], evse["evse_id"]
    elif case in _CASE_CONNECTORS:
        tariff = evse["connectors"][0]["tariff_ids"][0]
        connector = _connector(_CASE_CONNECTORS[case], "1", tariff, _parse(evse["last_updated"]))
        if case == "numbers_as_strings":
            for key in ("max_voltage", "max_amperage", "max_electric_power"):
                connector[key] = str(connector[key])
        evse["connectors"] = [connector]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


# --- The fake operators: who they are, and the feed list naming them --------------------------------------

STYLES = (
    "ocpi_link",
    "ocpi_total_count",
    "locations_key",
    "data_document",
    "bare_array",
    "ocpi_camel",
    "ocpi_offset_only",
    "items_cursor",
    "nested_envelope",
    "data_wrapper",
)
TOKEN_ENV = "SANDBOX_OCPI_TOKEN"  # noqa: S105 - the variable's name, not a secret
OCPI_TOKEN = "sandbox-ocpi-token"  # noqa: S105 - fake, sandbox-only
_SLUG = re.compile(r"[a-z0-9_]+")
# How a fake operator publishes its tariffs: in its locations document (the document styles), at
# `/ocpi/2.2.1/tariffs` paged like its locations, at `/ocpi/2.2.1/tariffs/{id}` one at a time, or not at all.
TARIFF_MODES = ("document", "paged", "per_id", "none")


def check_feed(
    style: str, page_size: int, min_interval_s: float | None, *, quirks: Collection[str] = ()
) -> None:
    """Raise ValueError for a style, page size, interval or quirk no fake operator can have."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {list(STYLES)}")
    unknown = sorted(set(quirks) - set(QUIRKS))
    if unknown:
        raise ValueError(f"unknown quirks {unknown}; expected some of {sorted(QUIRKS)}")
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    if min_interval_s is not None and not 0 < min_interval_s < 3600:
        raise ValueError(f"min_interval_s must be a positive number of seconds, got {min_interval_s}")


@dataclass(frozen=True)
class FeedSpec:
    """One fake operator: ``locations`` is a count for ``make_locations`` or the exact list to serve."""

    operator: str
    name: str
    style: str = "ocpi_link"
    locations: int | Sequence[dict] = 40
    page_size: int = 10
    token: str | None = None
    min_interval_s: float | None = None
    always_fail: bool = False
    latency_s: float = 0.0
    status_code: int | None = None
    faults: Mapping[int, Sequence[Fault]] | None = None
    quirks: frozenset[str] = frozenset()  # see _ocpi_wire.QUIRKS
    auth_header: str | None = None  # the token as is in this header, not `Authorization: Token`
    auth_param: str | None = None  # the token as this query parameter
    variants: tuple[str, ...] = ()  # real-feed variants of the generated locations (_ocpi_variants.VARIANTS)
    hostile: Hostile | None = None  # what it tries on its reader (_ocpi_hostile.HOSTILE)
    follow_hosts: tuple[str, ...] = ()  # the feed list's keys, as written there
    send_secret_to: tuple[str, ...] = ()
    tariffs: str = "document"  # one of TARIFF_MODES
    tariffs_from: tuple[str, ...] = ()  # other operators whose tariffs the feed list names
    tariffs_down: bool = False  # the tariffs endpoint always answers 500

    def __post_init__(self) -> None:
        if not _SLUG.fullmatch(self.operator):
            raise ValueError(f"operator must be a slug [a-z0-9_]+, got {self.operator!r}")
        check_feed(self.style, self.page_size, self.min_interval_s, quirks=self.quirks)
        if (self.auth_header or self.auth_param) and self.token is None:
            raise ValueError("auth_header and auth_param need a token")
        if not set(self.send_secret_to) <= set(self.follow_hosts):
            raise ValueError("send_secret_to names a host follow_hosts does not")
        if self.tariffs not in TARIFF_MODES:
            raise ValueError(f"tariffs must be one of {list(TARIFF_MODES)}, got {self.tariffs!r}")

    @property
    def token_env(self) -> str | None:
        """The variable holding this feed's token: ``SANDBOX_OCPI_TOKEN`` for the shared sandbox token."""
        if self.token is None:
            return None
        return TOKEN_ENV if self.token == OCPI_TOKEN else f"{TOKEN_ENV}_{self.operator.upper()}"


DEFAULT_FEEDS: tuple[FeedSpec, ...] = (
    FeedSpec(
        "sandbox_link",
        "Sandbox Link Ltd",
        "ocpi_link",
        45,
        page_size=10,
        tariffs="paged",
        variants=("priced",),
    ),
    FeedSpec(
        "sandbox_total_count",
        "Sandbox Total Count plc",
        "ocpi_total_count",
        40,
        page_size=7,
        tariffs="paged",
        tariffs_down=True,
    ),
    FeedSpec("sandbox_locations_key", "Sandbox Locations Key Ltd", "locations_key", 40),
    FeedSpec("sandbox_data_document", "Sandbox Data Document Ltd", "data_document", 40),
    FeedSpec("sandbox_bare_array", "Sandbox Bare Array Ltd", "bare_array", 40),
    FeedSpec(
        "sandbox_token",
        "Sandbox Token Charging Ltd",
        "ocpi_link",
        40,
        page_size=20,
        token=OCPI_TOKEN,
        tariffs="per_id",
    ),
    FeedSpec(
        "sandbox_polite",
        "Sandbox Polite Networks Ltd",
        "ocpi_link",
        40,
        page_size=20,
        min_interval_s=0.3,
        tariffs="none",
        tariffs_from=("sandbox_link",),
    ),
    FeedSpec("sandbox_down", "Sandbox Down Ltd", "ocpi_link", 40, always_fail=True),
    # Shaped like real UK feeds: Mer UK's WordPress document (nested envelopes, statuses as written in the
    # wild, a site abroad), and a back office with OCPI 2.1.1 names, uids numbered per site, numeric ids,
    # camelCase envelope keys, a BOM and Links with other relations.
    FeedSpec(
        "sandbox_nested",
        "Sandbox Nested Envelope Ltd",
        "nested_envelope",
        40,
        quirks=frozenset({"wp_link"}),
        variants=("real_statuses", "abroad"),
    ),
    FeedSpec(
        "sandbox_back_office",
        "Sandbox Back Office Ltd",
        "ocpi_camel",
        40,
        page_size=10,
        quirks=frozenset({"bom", "rel_list", "wp_link"}),
        variants=("ocpi_211", "per_site_uids", "numeric_ids"),
    ),
)
