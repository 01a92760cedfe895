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
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import ijson
from pydantic_core import from_json

from pipeline.resources.raw_zone import RawSnapshot

PREFIX = "page-"
WHOLE_PAGE_BYTES = 32 << 20
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
    no_data: bool = False  # an envelope whose `data` is null or absent: an empty page, not an error


def inspect_page(stream: IO[bytes], *, size: int | None = None) -> PageInfo:
    """A page's wire style, how many items, the OCPI status and a digest of the items.

    A page of up to `WHOLE_PAGE_BYTES` is parsed at once by pydantic's Rust parser (a page of a paged
    feed is small, and the Python-level event loop below costs more than the request); a larger one
    (an unpaged feed of many MB) is read as a stream, never whole.
    """
    if size is not None and size <= WHOLE_PAGE_BYTES:
        return _inspect_document(from_json(stream.read()))
    return _inspect_stream(stream)


def _inspect_document(document: object) -> PageInfo:
    status_code, message, items = None, "", None
    style: str | None = None
    no_data = False
    if isinstance(document, list):
        style, items = "bare_array", document
    elif isinstance(document, dict):
        code = document.get("status_code")
        status_code = int(code) if isinstance(code, int | float) and not isinstance(code, bool) else None
        message = str(document.get("status_message") or "")
        data = document.get("data")
        no_data = data is None and "locations" not in document
        if isinstance(data, list):
            style, items = "ocpi", data
        elif isinstance(data, dict) and isinstance(data.get("locations"), list):
            style, items = "data_document", data["locations"]
        elif isinstance(document.get("locations"), list) and "data" not in document:
            style, items = "locations_key", document["locations"]
    else:
        no_data = False
    items = items or []
    return PageInfo(style, len(items), status_code, message, _items_digest(items), no_data=no_data)


def _items_digest(items: list) -> str:
    """Of the items only (the envelope's timestamp changes on every answer): cheap, and equal for a page
    served twice."""
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def _inspect_stream(stream: IO[bytes]) -> PageInfo:
    style: str | None = None
    items, status_code, message = 0, None, ""
    digest = hashlib.sha256()
    pending_key: str | None = None
    top_keys: set[str] = set()
    for prefix, event, value in ijson.parse(stream):
        if prefix == "" and event == "map_key":
            top_keys.add(str(value))
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
    no_data = style == "?data is null" or (style is None and not top_keys & {"data", "locations"})
    if style is not None and style.startswith("?"):
        style = None
    return PageInfo(
        style, items, status_code, message, digest.hexdigest(), no_data=no_data and bool(top_keys)
    )


class OcpiStatusError(ValueError):
    """An envelope whose `status_code` is not 1000 (success)."""


def check(info: PageInfo) -> PageInfo:
    """The page if it is usable: an OCPI error status, or no locations list at all, raise."""
    if info.status_code is not None and info.status_code != 1000:
        raise OcpiStatusError(f"OCPI status_code {info.status_code}: {info.status_message or '(no message)'}")
    if info.style is None and not (info.status_code is not None and info.no_data):
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
