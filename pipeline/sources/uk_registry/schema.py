"""The registry contract: what a charge device record must look like, and the cleaned and counted tables."""

from __future__ import annotations

import msgspec
import pandera.pandas as pa
from pandera.typing import Series

COUNT_KEYS = ("ChargeDeviceManufacturer", "LocationType", "ChargeDeviceModel", "PostCode", "MonthUpdated")
CSV_HEADER = (*COUNT_KEYS, "Count")


class _Address(msgspec.Struct, frozen=True, gc=False):
    PostCode: str | None = None


class _Location(msgspec.Struct, frozen=True, gc=False):
    Address: _Address | None = None


class ChargeDeviceRecord(msgspec.Struct, frozen=True, gc=False):
    """One element of `ChargeDevice`. Only the fields the counts need are checked; others are ignored.

    A msgspec Struct, not a pydantic model: a million records are decoded straight from the document's
    bytes into these (strict: a number is not a string, and a missing id is an error). `gc=False`: they
    hold only strings and each other, never a cycle, so the garbage collector need not track a million
    of them (that tracking cost more than the decoding).
    """

    ChargeDeviceId: str
    ChargeDeviceModel: str | None = None
    ChargeDeviceManufacturer: str | None = None
    LocationType: str | None = None
    DateUpdated: str | None = None
    ChargeDeviceLocation: _Location | None = None


class ChargeDevices(pa.DataFrameModel):
    """One row per charge device that has a model (the last version of each `ChargeDeviceId`)."""

    ChargeDeviceId: Series[str] = pa.Field(unique=True, description="The registry's device id; each once.")
    ChargeDeviceManufacturer: Series[str] = pa.Field(description="'' when the registry has none.")
    LocationType: Series[str] = pa.Field(description="'' when the registry has none.")
    ChargeDeviceModel: Series[str] = pa.Field(
        str_length={"min_value": 1},
        description="The model as sent; never empty (devices without one are left out).",
    )
    PostCode: Series[str] = pa.Field(description="Upper case, one space before the inward code; '' if none.")
    MonthUpdated: Series[str] = pa.Field(description="`YYYY-MM` from DateUpdated; '' if none.")
    DateUpdated: Series[str] = pa.Field(description="DateUpdated exactly as sent; '' if none.")

    class Config:
        strict = True
        ordered = True


class ChargerModelCounts(pa.DataFrameModel):
    """Devices per manufacturer, location type, model, postcode and month updated."""

    ChargeDeviceManufacturer: Series[str] = pa.Field(description="'' when the registry has none.")
    LocationType: Series[str] = pa.Field(description="'' when the registry has none.")
    ChargeDeviceModel: Series[str] = pa.Field(description="The model as sent.")
    PostCode: Series[str] = pa.Field(description="Upper case, one space before the inward code; '' if none.")
    MonthUpdated: Series[str] = pa.Field(description="`YYYY-MM` from DateUpdated; '' if none.")
    Count: Series[int] = pa.Field(gt=0, description="Devices with these five values.")

    class Config:
        strict = True
        ordered = True


class ManufacturerHistory(pa.DataFrameModel):
    """Devices per manufacturer on every stored day (long form)."""

    day: Series[str] = pa.Field(description="The snapshot day, YYYY-MM-DD.")
    ChargeDeviceManufacturer: Series[str] = pa.Field(description="'' when the registry has none.")
    devices: Series[int] = pa.Field(ge=0, description="Devices with a model from that manufacturer that day.")

    class Config:
        strict = True
        ordered = True
