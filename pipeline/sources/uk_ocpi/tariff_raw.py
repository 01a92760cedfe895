"""The feeds' tariffs as stored: where each feed's raw OCPI Tariffs are, and the tariff objects they hold.

Pure reading of the lake, no network. A feed with a `tariffs_url` has its own raw zone
(`uk_ocpi_tariffs/<operator>`), one snapshot per day, complete or absent: its pages as returned (paged like
Locations), or one file per tariff (`{tariff_id}` URLs). A feed without one may carry its tariffs in its
locations document: Mer UK's nested envelope (`data.tariffs.data`) or the `data_document` style
(`data.tariffs`). Envelopes are read the way raw.py reads locations: a list under `data`, `tariffs` or
`items`, at the top or one envelope deeper; a bare array; or (one file per tariff) the one tariff object
under `data`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from pipeline.resources.raw_zone import RawSnapshot, RawZone
from pipeline.resources.storage import DataDir
from pipeline.sources import catalog
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.raw import BOM, PREFIX, read_locations
from pipeline.sources.uk_ocpi.status import feed_zone
from pipeline.sources.uk_ocpi.tariffs import PriceComponentRecord, TariffElementRecord, TariffRecord

TARIFF_ZONE = "uk_ocpi_tariffs"
PER_ID = "{tariff_id}"
_LISTS = ("tariffs", "data", "items")  # where a page may hold its tariffs, most specific first
# The fields read from each tariff (OCPI 2.2.1 Tariff, 2.1.1's subset), its elements and their components.
TARIFF_FIELDS = catalog.combined(
    catalog.record_schema(TariffRecord, record="tariff"),
    catalog.record_schema(TariffElementRecord, prefix="elements[].", record="element of a tariff"),
    catalog.record_schema(
        PriceComponentRecord, prefix="elements[].price_components[].", record="price component of an element"
    ),
)


def tariff_zone(data_dir: DataDir, feed: Feed) -> RawZone:
    """Where `feed`'s own tariffs are stored, one snapshot per day (only a feed with `tariffs_url`)."""
    return data_dir.raw(f"{TARIFF_ZONE}/{feed.operator}")


def per_id(feed: Feed) -> bool:
    """Whether `feed`'s tariffs are asked one at a time (`tariffs_url` holds `{tariff_id}`)."""
    return bool(feed.tariffs_url and PER_ID in feed.tariffs_url)


def stored_tariffs(data_dir: DataDir, feed: Feed, day: str) -> list[object] | None:
    """The day's tariff objects of `feed`, in feed order.

    From its tariffs snapshot when it has a `tariffs_url` (None when that snapshot is absent: the fetch
    failed, or none was made); else from its locations document when the document holds them; else [].
    """
    if feed.tariffs_url:
        snapshot = tariff_zone(data_dir, feed).snapshot(day)
        return list(_pages(snapshot)) if snapshot.complete else None
    snapshot = feed_zone(data_dir, feed).snapshot(day)
    if not snapshot.complete:
        return []
    return list(_documents(snapshot))


def named_tariff_ids(snapshot: RawSnapshot) -> list[str]:
    """Every tariff id the connectors of a locations snapshot name (`tariff_ids`, or 2.1.1's `tariff_id`),
    each once whatever its case (its first spelling), in order of appearance."""
    seen: dict[str, str] = {}
    for _, location in read_locations(snapshot):
        for evse in _objects(location, "evses"):
            for connector in _objects(evse, "connectors"):
                for name in _ids(connector):
                    seen.setdefault(name.casefold(), name)
    return list(seen.values())


def _ids(connector: dict) -> list[str]:
    named = connector.get("tariff_ids")
    names = named if isinstance(named, list) else [connector.get("tariff_id")]
    return [str(name).strip() for name in names if isinstance(name, str | int) and str(name).strip()]


def _objects(parent: object, key: str) -> list[dict]:
    items = parent.get(key) if isinstance(parent, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def read_answer(stream: IO[bytes]) -> object:
    """One stored answer's JSON document, a leading UTF-8 BOM (stored as returned) skipped."""
    return json.loads(stream.read().removeprefix(BOM))


def _load(snapshot: RawSnapshot, name: str) -> object:
    with snapshot.open(name) as stream:
        return read_answer(stream)


def _page_names(snapshot: RawSnapshot) -> list[str]:
    return [name for name in snapshot.names if name.startswith(PREFIX)]


def _pages(snapshot: RawSnapshot) -> Iterator[object]:
    """The tariffs of a tariffs snapshot: each page's list, or the one tariff of a per-id file."""
    for name in _page_names(snapshot):
        yield from page_tariffs(_load(snapshot, name))


def page_tariffs(document: object) -> list[object]:
    """The tariffs one stored answer holds: a list under `tariffs`, `data` or `items` (top, or one envelope
    deeper), a bare array, or one tariff object under `data` (an answer to `/tariffs/{id}`)."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        return []
    for key in _LISTS:
        value = document.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            if "id" in value or "elements" in value:
                return [value]
            inner = page_tariffs(value) if any(k in value for k in _LISTS) else []
            if inner:
                return inner
    return []


def _documents(snapshot: RawSnapshot) -> Iterator[object]:
    """The tariffs a locations document holds beside its locations (`data.tariffs`, Mer's nested
    `data.tariffs.data`); a paged feed's pages hold none."""
    for name in _page_names(snapshot):
        document = _load(snapshot, name)
        data = document.get("data") if isinstance(document, dict) else None
        tariffs = data.get("tariffs") if isinstance(data, dict) else None
        if isinstance(tariffs, list):
            yield from tariffs
        elif isinstance(tariffs, dict) and isinstance(tariffs.get("data"), list):
            yield from tariffs["data"]
