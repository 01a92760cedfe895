"""The UK OCPI contract: what OCPI 2.2.1 requires of a Location, EVSE and Connector, and the cleaned tables.

The records (pydantic, in `records`, re-exported here) read a feed's JSON leniently: OCPI sends numbers as
strings and text as numbers, so a field that cannot be used becomes "" (text) or None/NaN (numbers) instead
of failing the location. Only what cannot be read at all (a value that is not a JSON object, an EVSE with no
id) is rejected, and locations outside the UK are left out. The tables (pandera) are the assets' Dagster
types: their descriptions are the UI's column docs.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

# The records are part of the contract: re-exported, so `schema` stays the one place to import it from.
from pipeline.sources.uk_ocpi.records import (  # noqa: F401
    NO_POINT,
    OCPI_STATUSES,
    ConnectorRecord,
    EvseRecord,
    GeoPoint,
    LocationRecord,
    as_decimal,
    as_point,
    as_publish,
    as_text,
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

# An EVSE whose last_updated is older than this many days before the snapshot day has stale status data.
STALE_DAYS = 30

# Joins a connector's tariff ids in one text column: OCPI ids are CiStrings of printable ASCII, so no id
# holds a line break (text beside a list column keeps Parquet, pandas and pandera simple).
TARIFF_SEPARATOR = "\n"

COUNT_KEYS = ("Operator", "ParkingType", "Connectors", "MaxPowerKW", "PostCode", "MonthUpdated")
CSV_HEADER = (*COUNT_KEYS, "Count")


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        ordered = True


_OPERATOR = "The feed's slug, e.g. 'chargy'."
_OPERATOR_NAME = "The feed's display name, e.g. 'char.gy'."
_LOCATION_ID = "Location `id` as text (a number as written, 143.0 as '143'); '' when the location has none."
_PARKING_TYPE = (
    "OCPI ParkingType upper-cased, e.g. 'ON_STREET' (else OCPI 2.1.1's location `type`, but OTHER and "
    "UNKNOWN); '' when none."
)


class Locations(_Table):
    """One row per published UK location of each feed (the later copy of one served twice); a location
    whose `country` is set and is not the UK's is left out (see the conformance's `non_uk_locations`)."""

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
    parking_type: Series[str] = pa.Field(description=_PARKING_TYPE)
    last_updated: Series[str] = pa.Field(description="The location's `last_updated` as sent.")


class Evses(_Table):
    """One row per EVSE (one charge point: one car at a time) that is not REMOVED, at a UK location.

    An EVSE is operator + location id + `uid` (else `evse_id`), so uids numbered per site ('1', '2' at
    every location) are distinct EVSEs; at a location without id it is operator + `uid` (else `evse_id`).
    A location served twice counts once: its later copy, with that copy's EVSEs.
    """

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description=_OPERATOR_NAME)
    location_id: Series[str] = pa.Field(description=_LOCATION_ID)
    uid: Series[str] = pa.Field(description="EVSE `uid` as text; '' when none.")
    evse_id: Series[str] = pa.Field(description="eMI3 `evse_id` as text, e.g. 'GB*CGY*E123'; '' when none.")
    status: Series[str] = pa.Field(
        description="OCPI Status, upper-cased, 'OUT_OF_ORDER' read as 'OUTOFORDER'; kept when not OCPI's."
    )
    connector_standards: Series[str] = pa.Field(
        description="Distinct connector standards, sorted, '+'-joined."
    )
    power_types: Series[str] = pa.Field(description="Distinct connector power types, sorted, '+'-joined.")
    max_power_kw: Series[str] = pa.Field(
        description="Most powerful connector in kW, one decimal, half up, no trailing zeros ('7.4', '22').",
    )
    parking_type: Series[str] = pa.Field(description="Its location's parking type; '' when none.")
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
    """One row per connector of the EVSEs in `Evses` (operator, location_id and evse name its EVSE)."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    location_id: Series[str] = pa.Field(description=_LOCATION_ID)
    evse: Series[str] = pa.Field(
        description="The EVSE's `uid`, or its `evse_id` when it has no uid: unique within its location."
    )
    connector_id: Series[str] = pa.Field(description="Connector `id` within its EVSE; '' when none.")
    standard: Series[str] = pa.Field(description="OCPI ConnectorType, e.g. 'IEC_62196_T2'; '' when none.")
    format: Series[str] = pa.Field(description="SOCKET or CABLE; '' when none.")
    power_type: Series[str] = pa.Field(description="OCPI PowerType, e.g. 'AC_3_PHASE'; '' when none.")
    max_voltage: Series[float] = pa.Field(
        nullable=True,
        description="Volts (line to neutral for AC_3_PHASE): `max_voltage`, else OCPI 2.1.1's `voltage`.",
    )
    max_amperage: Series[float] = pa.Field(
        nullable=True, description="Amperes: `max_amperage`, else OCPI 2.1.1's `amperage`."
    )
    max_electric_power: Series[float] = pa.Field(nullable=True, description="Watts, as sent; NaN when none.")
    power_w: Series[float] = pa.Field(
        nullable=True, description="max_electric_power if > 0, else volts × amps × phases; NaN when unusable."
    )
    tariff_ids: Series[str] = pa.Field(
        description="The tariffs it names, in the order sent: `tariff_ids`, else OCPI 2.1.1's `tariff_id`; "
        "several joined by a line break (no OCPI id holds one); '' when none."
    )


class Conformance(_Table):
    """Per operator (and day: one row per feed and snapshot), how well its feed follows OCPI 2.2.1 and how
    plausible its data is."""

    operator: Series[str] = pa.Field(description=_OPERATOR)
    operator_name: Series[str] = pa.Field(description=_OPERATOR_NAME)
    locations: Series[int] = pa.Field(
        ge=0, description="Distinct locations served (each id once), those outside the UK included."
    )
    published_locations: Series[int] = pa.Field(ge=0, description="Locations without `publish: false`.")
    unpublished_locations: Series[int] = pa.Field(
        ge=0, description="Locations with `publish: false`: skipped."
    )
    duplicate_locations: Series[int] = pa.Field(ge=0, description="Extra copies of a location id (paging).")
    non_uk_locations: Series[int] = pa.Field(
        ge=0, description="Published locations whose `country` is not the UK's: left out, listed in rejects."
    )
    evses: Series[int] = pa.Field(ge=0, description="EVSEs in the table (not REMOVED, at UK locations).")
    removed_evses: Series[int] = pa.Field(ge=0, description="EVSEs with status REMOVED: left out.")
    duplicate_evses: Series[int] = pa.Field(
        ge=0, description="Extra copies of an EVSE (same location and uid): paging, or twice in a location."
    )
    reused_evse_uids: Series[int] = pa.Field(
        ge=0, description="EVSEs whose uid (else evse_id) also names an EVSE at another location: all kept."
    )
    rejects: Series[int] = pa.Field(
        ge=0,
        description="Rows in the rejects table: values not JSON objects, EVSEs without id, non-UK locations.",
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
    statuses_mapped: Series[int] = pa.Field(
        ge=0, description="EVSE statuses read as another OCPI spelling, e.g. 'OUT_OF_ORDER' as 'OUTOFORDER'."
    )
    ocpi_211_parking_types: Series[int] = pa.Field(
        ge=0, description="Locations whose parking type was read from OCPI 2.1.1's `type`."
    )
    ocpi_211_powers: Series[int] = pa.Field(
        ge=0, description="Connectors whose power was read from OCPI 2.1.1's `voltage` and `amperage`."
    )
    no_coordinates: Series[int] = pa.Field(ge=0, description="Locations without a usable latitude/longitude.")
    no_postcode: Series[int] = pa.Field(ge=0, description="Locations without a postcode.")
    outside_uk: Series[int] = pa.Field(ge=0, description="Locations outside the UK, even when swapped.")
    swapped_coordinates: Series[int] = pa.Field(ge=0, description="Locations in the UK only when swapped.")
    no_power_evses: Series[int] = pa.Field(ge=0, description="EVSEs with no connector power to read.")
    stale_evses: Series[int] = pa.Field(
        ge=0,
        description=f"EVSEs whose last_updated (else their location's) is over {STALE_DAYS} days before the "
        "snapshot day, missing or unreadable: their status may be stale.",
    )
    stale_evses_share: Series[float] = pa.Field(
        ge=0, le=1, nullable=True, description="stale_evses / evses; NaN without EVSEs or without a day."
    )


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


@cache
def dtypes(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """The model's columns, in order, with the dtype each is cast to ("str", "int64", "float64")."""
    return {name: str(column.dtype) for name, column in model.to_schema().columns.items()}


def frame(model: type[pa.DataFrameModel], rows: list[tuple[object, ...]]) -> pd.DataFrame:
    """`rows` (tuples in the model's column order) as the model's frame, each column cast to its dtype."""
    columns = dtypes(model)
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)
