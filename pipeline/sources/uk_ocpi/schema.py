"""The UK OCPI contract: what OCPI 2.2.1 requires of a Location, EVSE and Connector, and the cleaned tables.

The records (pydantic) read a feed's JSON leniently: OCPI sends numbers as strings and text as numbers,
so a field that cannot be used becomes "" (text) or None/NaN (numbers) instead of failing the location.
Only what cannot be read at all (a value that is not a JSON object, an EVSE with no id) is rejected.
The tables (pandera) are the assets' Dagster types: their descriptions are the UI's column docs.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Annotated, NamedTuple

import pandera.pandas as pa
from pandera.typing import Series
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
REMOVED = "REMOVED"
OUT_OF_ORDER = ("INOPERATIVE", "OUTOFORDER")

# OCPI 2.2.1 fields with cardinality 1 (or + for `connectors`), per object.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "location": (
        "country_code",
        "party_id",
        "id",
        "publish",
        "address",
        "city",
        "country",
        "coordinates",
        "time_zone",
        "last_updated",
    ),
    "evse": ("uid", "status", "connectors", "last_updated"),
    "connector": ("id", "standard", "format", "power_type", "max_voltage", "max_amperage", "last_updated"),
}
# Optional in OCPI, but what the power of a DC charger depends on: counted like the required ones.
COUNTED_OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {"connector": ("max_electric_power",)}
CHECKED_FIELDS = {
    kind: REQUIRED_FIELDS[kind] + COUNTED_OPTIONAL_FIELDS.get(kind, ()) for kind in REQUIRED_FIELDS
}
MISSING_COLUMNS = tuple(
    f"missing_{kind}_{field}" for kind, fields in CHECKED_FIELDS.items() for field in fields
)

# PowerType → phases for max_voltage × max_amperage × phases (max_voltage is line to neutral).
PHASES = {"AC_3_PHASE": 3, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2}

# A point is in the UK when both hold (Great Britain, Northern Ireland and the islands).
UK_LATITUDE = (49.8, 60.9)
UK_LONGITUDE = (-8.7, 1.8)

COUNT_KEYS = ("Operator", "ParkingType", "Connectors", "MaxPowerKW", "PostCode", "MonthUpdated")
CSV_HEADER = (*COUNT_KEYS, "Count")


def as_text(value: object) -> str:
    """Text as sent, without surrounding whitespace; a number as written; null or a list/object → ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return ""


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


Text = Annotated[str, PlainValidator(as_text)]
Number = Annotated[Decimal | None, PlainValidator(as_decimal)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConnectorRecord(_Record):
    """One element of an EVSE's `connectors`: the fields the tables use."""

    id: Text = ""
    standard: Text = ""
    format: Text = ""
    power_type: Text = ""
    max_voltage: Number = None
    max_amperage: Number = None
    max_electric_power: Number = None


class EvseRecord(_Record):
    """One element of a location's `evses` (its `connectors` are read one by one: a bad one is rejected)."""

    uid: Text = ""
    evse_id: Text = ""
    status: Text = ""
    last_updated: Text = ""


class LocationRecord(_Record):
    """One location of a feed (its `evses` are read one by one: a bad one is rejected)."""

    id: Text = ""
    publish: Annotated[bool, PlainValidator(as_publish)] = True
    name: Text = ""
    address: Text = ""
    city: Text = ""
    postal_code: Text = ""
    country: Text = ""
    coordinates: Annotated[GeoPoint, PlainValidator(as_point)] = NO_POINT
    parking_type: Text = ""
    last_updated: Text = ""


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


_OPERATOR = "The feed's slug, e.g. 'chargy'."
_OPERATOR_NAME = "The feed's display name, e.g. 'char.gy'."
_LOCATION_ID = "Location `id` as sent; '' when the location has none."


class Locations(_Table):
    """One row per published location of each feed (the later copy of one served twice)."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description=_OPERATOR_NAME)
    location_id: Series[str] = pa.Field(description=_LOCATION_ID)
    name: Series[str] = pa.Field(description="Display name; '' when none.")
    address: Series[str] = pa.Field(description="Street and number as sent; '' when none.")
    city: Series[str] = pa.Field(description="City or town; '' when none.")
    postcode: Series[str] = pa.Field(
        description="`postal_code`, upper case, one space before the inward code."
    )
    country: Series[str] = pa.Field(description="ISO 3166-1 alpha-3 country as sent, e.g. 'GBR'.")
    latitude: Series[float] = pa.Field(
        nullable=True, description="WGS 84 latitude as sent; NaN when unusable."
    )
    longitude: Series[float] = pa.Field(
        nullable=True, description="WGS 84 longitude as sent; NaN when unusable."
    )
    parking_type: Series[str] = pa.Field(description="OCPI ParkingType, e.g. 'ON_STREET'; '' when none.")
    last_updated: Series[str] = pa.Field(description="The location's `last_updated` as sent.")


class Evses(_Table):
    """One row per EVSE (one charge point: one car at a time) that is not REMOVED, each id once."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description=_OPERATOR_NAME)
    location_id: Series[str] = pa.Field(description=_LOCATION_ID)
    uid: Series[str] = pa.Field(description="EVSE `uid` (its id within the operator); '' when none.")
    evse_id: Series[str] = pa.Field(description="eMI3 `evse_id`, e.g. 'GB*CGY*E123'; '' when none.")
    status: Series[str] = pa.Field(description="OCPI Status, upper-cased; kept even when not OCPI's.")
    connector_standards: Series[str] = pa.Field(
        description="Distinct connector standards, sorted, '+'-joined."
    )
    power_types: Series[str] = pa.Field(description="Distinct connector power types, sorted, '+'-joined.")
    max_power_kw: Series[str] = pa.Field(
        description="Most powerful connector in kW, one decimal, half up, no trailing zeros ('7.4', '22').",
    )
    parking_type: Series[str] = pa.Field(description="Its location's ParkingType; '' when none.")
    postcode: Series[str] = pa.Field(description="Its location's postcode; '' when none.")
    city: Series[str] = pa.Field(description="Its location's city; '' when none.")
    latitude: Series[float] = pa.Field(
        nullable=True, description="Its location's latitude; NaN when unusable."
    )
    longitude: Series[float] = pa.Field(
        nullable=True, description="Its location's longitude; NaN when unusable."
    )
    last_updated: Series[str] = pa.Field(description="The EVSE's `last_updated`, else its location's.")


class Connectors(_Table):
    """One row per connector of the EVSEs in `Evses`."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    location_id: Series[str] = pa.Field(description=_LOCATION_ID)
    evse: Series[str] = pa.Field(description="The EVSE's `uid`, or its `evse_id` when it has no uid.")
    connector_id: Series[str] = pa.Field(description="Connector `id` within its EVSE; '' when none.")
    standard: Series[str] = pa.Field(description="OCPI ConnectorType, e.g. 'IEC_62196_T2'; '' when none.")
    format: Series[str] = pa.Field(description="SOCKET or CABLE; '' when none.")
    power_type: Series[str] = pa.Field(description="OCPI PowerType, e.g. 'AC_3_PHASE'; '' when none.")
    max_voltage: Series[float] = pa.Field(
        nullable=True, description="Volts (line to neutral for AC_3_PHASE)."
    )
    max_amperage: Series[float] = pa.Field(nullable=True, description="Amperes.")
    max_electric_power: Series[float] = pa.Field(nullable=True, description="Watts, as sent; NaN when none.")
    power_w: Series[float] = pa.Field(
        nullable=True, description="max_electric_power if > 0, else volts × amps × phases; NaN when unusable."
    )


class Conformance(_Table):
    """Per operator, how well its feed follows OCPI 2.2.1 and how plausible its data is."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description=_OPERATOR_NAME)
    locations: Series[int] = pa.Field(ge=0, description="Distinct locations served (each id once).")
    published_locations: Series[int] = pa.Field(ge=0, description="Locations without `publish: false`.")
    unpublished_locations: Series[int] = pa.Field(
        ge=0, description="Locations with `publish: false`: skipped."
    )
    duplicate_locations: Series[int] = pa.Field(ge=0, description="Extra copies of a location id (paging).")
    evses: Series[int] = pa.Field(ge=0, description="EVSEs in the table (not REMOVED, each id once).")
    removed_evses: Series[int] = pa.Field(ge=0, description="EVSEs with status REMOVED: left out.")
    duplicate_evses: Series[int] = pa.Field(ge=0, description="Extra copies of an EVSE id (paging).")
    rejects: Series[int] = pa.Field(
        ge=0, description="Values rejected: not a JSON object, or an EVSE without id."
    )
    missing_location_country_code: Series[int] = pa.Field(ge=0, description="Locations without country_code.")
    missing_location_party_id: Series[int] = pa.Field(ge=0, description="Locations without party_id.")
    missing_location_id: Series[int] = pa.Field(ge=0, description="Locations without id.")
    missing_location_publish: Series[int] = pa.Field(ge=0, description="Locations without publish.")
    missing_location_address: Series[int] = pa.Field(ge=0, description="Locations without address.")
    missing_location_city: Series[int] = pa.Field(ge=0, description="Locations without city.")
    missing_location_country: Series[int] = pa.Field(ge=0, description="Locations without country.")
    missing_location_coordinates: Series[int] = pa.Field(ge=0, description="Locations without coordinates.")
    missing_location_time_zone: Series[int] = pa.Field(ge=0, description="Locations without time_zone.")
    missing_location_last_updated: Series[int] = pa.Field(ge=0, description="Locations without last_updated.")
    missing_evse_uid: Series[int] = pa.Field(ge=0, description="EVSEs without uid (known by evse_id).")
    missing_evse_status: Series[int] = pa.Field(ge=0, description="EVSEs without status.")
    missing_evse_connectors: Series[int] = pa.Field(ge=0, description="EVSEs without a connectors list.")
    missing_evse_last_updated: Series[int] = pa.Field(ge=0, description="EVSEs without last_updated.")
    missing_connector_id: Series[int] = pa.Field(ge=0, description="Connectors without id.")
    missing_connector_standard: Series[int] = pa.Field(ge=0, description="Connectors without standard.")
    missing_connector_format: Series[int] = pa.Field(ge=0, description="Connectors without format.")
    missing_connector_power_type: Series[int] = pa.Field(ge=0, description="Connectors without power_type.")
    missing_connector_max_voltage: Series[int] = pa.Field(ge=0, description="Connectors without max_voltage.")
    missing_connector_max_amperage: Series[int] = pa.Field(
        ge=0, description="Connectors without max_amperage."
    )
    missing_connector_last_updated: Series[int] = pa.Field(
        ge=0, description="Connectors without last_updated."
    )
    missing_connector_max_electric_power: Series[int] = pa.Field(
        ge=0, description="Connectors without max_electric_power (optional in OCPI, counted all the same)."
    )
    unknown_statuses: Series[str] = pa.Field(description="Statuses not in OCPI's list, e.g. 'WORKING: 3'.")
    statuses_not_upper_case: Series[int] = pa.Field(ge=0, description="EVSE statuses not sent in upper case.")
    no_coordinates: Series[int] = pa.Field(ge=0, description="Locations without a usable latitude/longitude.")
    no_postcode: Series[int] = pa.Field(ge=0, description="Locations without a postcode.")
    outside_uk: Series[int] = pa.Field(ge=0, description="Locations outside the UK, even when swapped.")
    swapped_coordinates: Series[int] = pa.Field(ge=0, description="Locations in the UK only when swapped.")
    no_power_evses: Series[int] = pa.Field(ge=0, description="EVSEs with no connector power to read.")


class ChargePointCounts(_Table):
    """EVSEs per operator, parking type, connectors, power, postcode and month: the CSV's rows."""

    Operator: Series[str] = pa.Field(description="The feed's display name.")
    ParkingType: Series[str] = pa.Field(description="OCPI ParkingType of the location; '' when none.")
    Connectors: Series[str] = pa.Field(description="The EVSE's connector standards, '+'-joined.")
    MaxPowerKW: Series[str] = pa.Field(description="The EVSE's maximum power in kW ('' when unknown).")
    PostCode: Series[str] = pa.Field(description="Postcode of the location; '' when none.")
    MonthUpdated: Series[str] = pa.Field(description="`YYYY-MM` of the EVSE's last_updated; '' when none.")
    Count: Series[int] = pa.Field(gt=0, description="Number of EVSEs.")


class StatusByOperator(_Table):
    """EVSEs per operator and status."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    status: Series[str] = pa.Field(description="EVSE status, upper-cased ('' when none).")
    evses: Series[int] = pa.Field(gt=0, description="Number of EVSEs.")


class OutOfOrderHistory(_Table):
    """Per stored day and operator: EVSEs, those OUTOFORDER or INOPERATIVE, and their share."""

    day: Series[str] = pa.Field(description="The snapshot day, YYYY-MM-DD.")
    operator: Series[str] = pa.Field(description=_OPERATOR)
    evses: Series[int] = pa.Field(gt=0, description="EVSEs of the operator that day.")
    out_of_order: Series[int] = pa.Field(ge=0, description="EVSEs with status OUTOFORDER or INOPERATIVE.")
    out_of_order_share: Series[float] = pa.Field(ge=0, le=1, description="out_of_order / evses.")


class OutOfOrderWeekOverWeek(_Table):
    """Out-of-order share per operator a week before and on the day; NaN where the operator had no data."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    week_before: Series[float] = pa.Field(nullable=True, description="Share a week before the day.")
    today: Series[float] = pa.Field(nullable=True, description="Share on the day.")
    change: Series[float] = pa.Field(nullable=True, description="today − week_before.")
