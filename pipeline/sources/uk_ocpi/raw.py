"""The feeds' raw zone: every page exactly as the operator returned it, one snapshot per feed and day.

Real feeds bend OCPI's envelope in several ways; which one a page uses is read from the page itself,
never configured per feed:

| wire style      | body                                                        | locations at     |
|-----------------|-------------------------------------------------------------|------------------|
| `ocpi`          | `{"data": [...], "status_code": 1000, ...}` (the spec)      | `data.item`      |
| `data_document` | `{"data": {"locations": [...], "tariffs": [...]}, ...}`     | `data.locations.item` |
| `locations_key` | `{"locations": [...]}`                                      | `locations.item` |
| `bare_array`    | `[...]`                                                     | `item`           |
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import ijson

from pipeline.resources.raw_zone import RawSnapshot

PREFIX = "page-"
ITEMS = {
    "ocpi": "data.item",
    "data_document": "data.locations.item",
    "locations_key": "locations.item",
    "bare_array": "item",
}
_ITEM_EVENTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})


def page_name(number: int) -> str:
    return f"{PREFIX}{number:06d}.json"


class NotLocations(ValueError):
    """A page that holds no list of locations in any known wire style."""


@dataclass(frozen=True)
class PageInfo:
    """What one stored page says about itself."""

    style: str | None  # None: no list of locations (see `check`)
    items: int
    status_code: int | None
    status_message: str
    digest: str  # of the items only: the envelope's timestamp changes on every answer


def inspect_page(stream: IO[bytes]) -> PageInfo:
    """One streaming pass over a page: its wire style, how many items, the OCPI status, a digest."""
    style: str | None = None
    items, status_code, message = 0, None, ""
    digest = hashlib.sha256()
    pending_key: str | None = None
    for prefix, event, value in ijson.parse(stream):
        if style is None:
            style, pending_key = _detect(prefix, event, value, pending_key)
        item_prefix = ITEMS.get(style or "")
        if item_prefix and (prefix == item_prefix or prefix.startswith(item_prefix + ".")):
            items += prefix == item_prefix and event in _ITEM_EVENTS
            digest.update(f"{prefix}\x1f{event}\x1f{value}\x1e".encode())
        elif prefix == "status_code" and event == "number":
            status_code = int(value)
        elif prefix == "status_message" and event == "string":
            message = value
    if style is not None and style.startswith("?"):
        style = None
    return PageInfo(style, items, status_code, message, digest.hexdigest())


class OcpiStatusError(ValueError):
    """An envelope whose `status_code` is not 1000 (success)."""


def check(info: PageInfo) -> PageInfo:
    """The page if it is usable: an OCPI error status, or no locations list at all, raise."""
    if info.status_code is not None and info.status_code != 1000:
        raise OcpiStatusError(f"OCPI status_code {info.status_code}: {info.status_message or '(no message)'}")
    if info.style is None and info.status_code is None:
        raise NotLocations(
            "no list of locations: expected a bare array, or `data` (a list, or an object with a "
            "`locations` list), or `locations`"
        )
    return info


def _detect(prefix: str, event: str, value: object, key: str | None) -> tuple[str | None, str | None]:
    """Advance the style detection by one parser event: (style or None, the top-level key being read)."""
    if prefix == "" and event == "start_array":
        return "bare_array", None
    if prefix == "" and event == "map_key":
        return None, str(value)
    if key == "data" and prefix == "data":
        if event == "start_array":
            return "ocpi", key
        if event == "map_key" and value == "locations":
            return None, "data.locations"
        if event == "null":
            return "?data is null", key
    if key == "data.locations" and prefix == "data.locations" and event == "start_array":
        return "data_document", key
    if key == "locations" and prefix == "locations" and event == "start_array":
        return "locations_key", key
    return None, key


def read_locations(snapshot: RawSnapshot) -> Iterator[tuple[str, object]]:
    """`(where, location)` for every item of every stored page, in page order, one at a time."""
    for name in snapshot.names:
        if not name.startswith(PREFIX):
            continue
        number = int(name.removeprefix(PREFIX).removesuffix(".json"))
        with snapshot.open(name) as stream:
            style = inspect_page(stream).style
        if style is None:  # an envelope with status 1000 and no data: an empty page
            continue
        with snapshot.open(name) as stream:
            for index, item in enumerate(ijson.items(stream, ITEMS[style], use_float=True)):
                yield f"page {number}, item {index}", item
