"""Reading a UK feed's OCPI Tariffs leniently, as real feeds send them, into the `uk_ocpi_tariffs` rows.

Pure: decoded JSON in, records and rows out; no Dagster, no network, no files. Real tariffs send prices as
JSON strings, `vat` or not, an ENERGY price of null, elements restricted by day, time, duration or kWh,
TIME, FLAT and PARKING_TIME components, `min_price`, any tariff `type` or none, and currencies other than
GBP. A value that cannot be used becomes None (a price then counts as unreadable, never as 0); a tariff
that is not a JSON object or has no id cannot be looked up and is only counted. Ids are OCPI CiStrings:
a tariff is found whatever the case of the reference to it; one published twice counts as its later copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, PlainValidator

from pipeline.sources.uk_ocpi.records import Id, Text, as_decimal, as_float, as_text

# OCPI 2.2.1 TariffRestrictions, in the spec's order (2.1.1's are a subset): the order of `restrictions`.
RESTRICTIONS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    "min_kwh",
    "max_kwh",
    "min_current",
    "max_current",
    "min_power",
    "max_power",
    "min_duration",
    "max_duration",
    "day_of_week",
    "reservation",
)
GBP = "GBP"
ENERGY, FLAT, TIME = "ENERGY", "FLAT", "TIME"


class Amount(NamedTuple):
    """A price as read: its value (None when null or unreadable) and whether it was sent as a string."""

    value: Decimal | None
    as_text: bool


def as_amount(value: object) -> Amount:
    return Amount(as_decimal(value), isinstance(value, str))


def as_excl_vat(value: object) -> Decimal | None:
    """OCPI 2.2.1's Price (`{"excl_vat": 0.5, "incl_vat": 0.6}`) excl. VAT, or a bare number."""
    return as_decimal(value.get("excl_vat") if isinstance(value, dict) else value)


def restrictions_text(value: object) -> str:
    """An element's restrictions as `name=value` in OCPI's order, '; '-joined, a list ','-joined, values
    as sent; names OCPI does not define follow, sorted; '' when none (or not an object)."""
    if not isinstance(value, dict):
        return ""
    names = [name for name in RESTRICTIONS if name in value]
    names += sorted(str(name) for name in value if name not in RESTRICTIONS)
    parts = []
    for name in names:
        sent = value[name]
        text = ",".join(map(as_text, sent)) if isinstance(sent, list) else as_text(sent)
        if text:
            parts.append(f"{name}={text}")
    return "; ".join(parts)


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PriceComponentRecord(_Record):
    """One of an element's `price_components`: `price` excl. VAT (per kWh, hour or session), `vat` in %."""

    type: Annotated[str, PlainValidator(lambda value: as_text(value).upper())] = ""
    price: Annotated[Amount, PlainValidator(as_amount)] = Amount(None, False)
    vat: Annotated[Decimal | None, PlainValidator(as_decimal)] = None
    step_size: Annotated[Decimal | None, PlainValidator(as_decimal)] = None


def as_components(value: object) -> tuple[PriceComponentRecord, ...]:
    """The price components that are JSON objects (others say nothing about a price)."""
    items = value if isinstance(value, list) else []
    return tuple(PriceComponentRecord.model_validate(item) for item in items if isinstance(item, dict))


class TariffElementRecord(_Record):
    """One of a tariff's `elements`: its price components and its restrictions as text."""

    price_components: Annotated[tuple[PriceComponentRecord, ...], PlainValidator(as_components)] = ()
    restrictions: Annotated[str, PlainValidator(restrictions_text)] = ""


def as_elements(value: object) -> tuple[TariffElementRecord, ...]:
    items = value if isinstance(value, list) else []
    return tuple(TariffElementRecord.model_validate(item) for item in items if isinstance(item, dict))


class TariffRecord(_Record):
    """One OCPI Tariff (2.2.1, or 2.1.1's subset): the fields prices and the tariffs table use."""

    id: Id = ""
    currency: Annotated[str, PlainValidator(lambda value: as_text(value).upper())] = ""
    type: Annotated[str, PlainValidator(lambda value: as_text(value).upper())] = ""
    min_price: Annotated[Decimal | None, PlainValidator(as_excl_vat)] = None
    elements: Annotated[tuple[TariffElementRecord, ...], PlainValidator(as_elements)] = ()
    last_updated: Text = ""

    def components(self) -> list[PriceComponentRecord]:
        """Every price component of every element, in order."""
        return [component for element in self.elements for component in element.price_components]


@dataclass
class FeedTariffs:
    """One feed's tariffs: each id once (casefolded key, its later copy), and what could not be used."""

    operator: str
    tariffs: dict[str, TariffRecord] = field(default_factory=dict)
    unreadable: int = 0  # not JSON objects, or without id
    duplicates: int = 0  # earlier copies of an id published again (the later copy is used)

    def find(self, tariff_id: str) -> TariffRecord | None:
        return self.tariffs.get(tariff_id.casefold())


def read_tariffs(operator: str, raw: Iterable[object]) -> FeedTariffs:
    """A feed's tariffs (decoded JSON objects, in feed order) read leniently, keyed by id in any case."""
    feed = FeedTariffs(operator)
    for item in raw:
        record = TariffRecord.model_validate(item) if isinstance(item, dict) else None
        if record is None or not record.id:
            feed.unreadable += 1
            continue
        feed.duplicates += feed.tariffs.pop(record.id.casefold(), None) is not None  # the later copy wins
        feed.tariffs[record.id.casefold()] = record
    return feed


Row = tuple[object, ...]


def tariff_rows(feeds: Mapping[str, FeedTariffs | None]) -> list[Row]:
    """The `price_schema.Tariffs` rows of every feed's tariffs: one per tariff, element and component."""
    return [
        (
            operator,
            tariff.id,
            tariff.currency,
            tariff.type,
            index,
            component.type,
            as_float(component.price.value),
            as_float(component.vat),
            as_float(component.step_size),
            element.restrictions,
            as_float(tariff.min_price),
            tariff.last_updated,
        )
        for operator, feed in feeds.items()
        if feed is not None
        for tariff in feed.tariffs.values()
        for index, element in enumerate(tariff.elements)
        for component in element.price_components
    ]
