"""How one value of a UK OCPI feed is read: leniently, as real feeds send it.

OCPI sends numbers as strings and text (even ids) as numbers; feeds hosted by older back offices still use
OCPI 2.1.1's names; statuses come in any case and spelling. A value that cannot be used becomes "" (text)
or None/NaN (numbers) instead of failing its location. The records (pydantic) keep only the fields the
tables use; `schema` re-exports them beside the tables.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, PlainValidator

# OCPI 2.2.1, mod_locations, Status enum.
OCPI_STATUSES = (
    "AVAILABLE",
    "BLOCKED",
    "CHARGING",
    "INOPERATIVE",
    "OUTOFORDER",
    "PLANNED",
    "REMOVED",
    "RESERVED",
    "UNKNOWN",
)
# OCPI 2.1.1's LocationType values that say nothing about the parking: they give no parking type.
NO_PARKING_TYPE = ("OTHER", "UNKNOWN")
# `country` values (trimmed, any case) that are the UK: ISO 3166-1 alpha-3 and alpha-2, and "UK".
UK_COUNTRIES = ("GBR", "GB", "UK")


def as_text(value: object) -> str:
    """Text as sent, without surrounding whitespace; a number as written; null or a list/object → ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return ""


def as_id(value: object) -> str:
    """An id of any JSON type as text: like `as_text`, but a whole number is written without a fraction,
    so `143`, `143.0` and `"143"` are one id ("143")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return str(int(value))
    return as_text(value)


LARGEST_READING = Decimal(10) ** 9  # beyond ±1e9 (1 GW, 1 GV, 1 GA, any coordinate) a number is no reading


def as_decimal(value: object) -> Decimal | None:
    """A number, or a string holding one (`"230"`, `" 7.4e3 "`); else (NaN, inf, beyond ±1e9) None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) <= LARGEST_READING else None


def as_float(value: Decimal | None) -> float:
    """A read number as a float column holds it: NaN for None."""
    return float("nan") if value is None else float(value)


class GeoPoint(NamedTuple):
    latitude: float
    longitude: float


NO_POINT = GeoPoint(math.nan, math.nan)


def as_point(value: object) -> GeoPoint:
    """OCPI's GeoLocation (`{"latitude": "51.47", "longitude": "-0.45"}`) as floats; NaN where unusable."""
    if not isinstance(value, dict):
        return NO_POINT
    latitude, longitude = as_decimal(value.get("latitude")), as_decimal(value.get("longitude"))
    return GeoPoint(
        math.nan if latitude is None else float(latitude), math.nan if longitude is None else float(longitude)
    )


def as_publish(value: object) -> bool:
    """False only for `false` (or the string "false"): a location without `publish` counts as published."""
    return not (value is False or (isinstance(value, str) and value.strip().lower() == "false"))


def as_status(sent: str) -> str:
    """An EVSE status in OCPI's spelling: upper-cased, and an OCPI status written with separators
    (`OUT_OF_ORDER`, `out-of-order`, `Out of order`) read as that status (`OUTOFORDER`). Any other
    status is kept, upper-cased (`WORKING`, `FAULTED`)."""
    status = sent.strip().upper()
    joined = "".join(status.replace("-", " ").replace("_", " ").split())
    return joined if joined in OCPI_STATUSES else status


def is_uk_country(country: str) -> bool:
    """True unless `country` is set and is not the UK's (`GBR`, `GB` or `UK`, any case)."""
    return not country.strip() or country.strip().upper() in UK_COUNTRIES


def as_instant(stamp: str) -> datetime | None:
    """An OCPI DateTime read leniently as UTC: `Z`, `+00:00` or any offset, milliseconds, or no zone (read
    as UTC); None when it is no date and time."""
    try:
        moment = datetime.fromisoformat(stamp.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_ids(value: object) -> tuple[str, ...]:
    """A list of ids (OCPI 2.2.1's `tariff_ids`) as text ids in the order sent, blanks and non-ids dropped;
    one id sent bare (`"T1"`, `7`) as a list of one; else ()."""
    items = value if isinstance(value, list) else [value]
    return tuple(text for item in items if not isinstance(item, list | dict) and (text := as_id(item)))


Text = Annotated[str, PlainValidator(as_text)]
Id = Annotated[str, PlainValidator(as_id)]
Ids = Annotated[tuple[str, ...], PlainValidator(as_ids)]
Number = Annotated[Decimal | None, PlainValidator(as_decimal)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConnectorRecord(_Record):
    """One element of an EVSE's `connectors`: the fields the tables use (`voltage`, `amperage`,
    `tariff_id`: OCPI 2.1.1's names, read when `max_voltage`, `max_amperage`, `tariff_ids` are absent)."""

    id: Id = ""
    standard: Text = ""
    format: Text = ""
    power_type: Text = ""
    max_voltage: Number = None
    max_amperage: Number = None
    max_electric_power: Number = None
    voltage: Number = None
    amperage: Number = None
    tariff_ids: Ids = ()
    tariff_id: Id = ""

    def tariffs(self) -> tuple[str, ...]:
        """The tariffs it names: `tariff_ids`, else OCPI 2.1.1's one `tariff_id`; () when none."""
        return self.tariff_ids or ((self.tariff_id,) if self.tariff_id else ())


class EvseRecord(_Record):
    """One element of a location's `evses` (its `connectors` are read one by one: a bad one is rejected)."""

    uid: Id = ""
    evse_id: Id = ""
    status: Text = ""
    last_updated: Text = ""


class LocationRecord(_Record):
    """One location of a feed (its `evses` are read one by one: a bad one is rejected); `type` is OCPI
    2.1.1's LocationType, read when `parking_type` is absent."""

    id: Id = ""
    publish: Annotated[bool, PlainValidator(as_publish)] = True
    name: Text = ""
    address: Text = ""
    city: Text = ""
    postal_code: Text = ""
    country: Text = ""
    coordinates: Annotated[GeoPoint, PlainValidator(as_point)] = NO_POINT
    parking_type: Text = ""
    type: Text = ""
    last_updated: Text = ""
