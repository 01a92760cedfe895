"""The feeds' raw zone: every page exactly as the operator returned it, one snapshot per feed and day.

Real feeds wrap their locations in many envelopes; which one a page uses is read from the page itself,
never configured per feed. The rule: the locations are the list under `data`, `locations` or `items`
(preferred in that order of keys: `locations` first), at the top or one envelope deeper; an envelope's
`status_code` or `statusCode` other than 1000 (number or string), at any level, is an error naming code
and message; a page with no such list fails naming the top-level keys it has. A UTF-8 BOM before the
JSON is skipped (and counted: `PageInfo.bom`); the stored page keeps it, as the feed sent it.

| wire style        | body                                                                 | locations at   |
|-------------------|----------------------------------------------------------------------|----------------|
| `ocpi`            | `{"data": [...], "status_code": 1000, ...}` (the spec)               | `data`         |
| `ocpi_camel`      | `{"data": [...], "statusCode": 1000, "statusMessage": ...}`          | `data`         |
| `data_wrapper`    | `{"name": "OK", "message": "ok", "data": [...], "error": null, ...}` | `data`         |
| `data_document`   | `{"data": {"locations": [...], "tariffs": [...]}, ...}`            | `data.locations` |
| `nested_envelope` | `{"data": {"locations": {"data": [...], "status_code": ...}}}` | `data.locations.data` |
| `locations_key`   | `{"locations": [...]}`                                               | `locations`    |
| `items_cursor`    | `{"items": [...], "next": "<token or URL>"}`                         | `items`        |
| `bare_array`      | `[...]`                                                              | the document   |

`nested_envelope` is Mer UK's: a whole envelope per object type inside the document (`"tariffs"` too).
Any other path the rule allows (say `{"data": {"items": [...]}}`) is named `envelope:data.items`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, cast

import ijson
from pydantic_core import from_json

from pipeline.resources.raw_zone import RawSnapshot

PREFIX = "page-"
WHOLE_PAGE_BYTES = 32 << 20
BOM = b"\xef\xbb\xbf"
KEYS = ("locations", "data", "items")  # where locations may be, most specific first
MAX_DEPTH = 3  # `data.locations.data`: the top envelope, its document, the envelope inside
STATUS_KEYS = {"status_code": "status_message", "statusCode": "statusMessage"}
OCPI_ENVELOPE = frozenset({"data", "status_code", "status_message", "timestamp"})
STYLES = {
    (): "bare_array",
    ("locations",): "locations_key",
    ("items",): "items_cursor",
    ("data", "locations"): "data_document",
    ("data", "locations", "data"): "nested_envelope",
}
_ITEM_EVENTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})
_MESSAGES = frozenset(STATUS_KEYS.values())

Path = tuple[str, ...]


def page_name(number: int) -> str:
    return f"{PREFIX}{number:06d}.json"


class NotLocations(ValueError):
    """A page that holds no list of locations in any known wire style."""


class OcpiStatusError(ValueError):
    """An envelope whose `status_code` (or `statusCode`) is not 1000 (success)."""


@dataclass(frozen=True)
class PageInfo:
    """What one stored page says about itself."""

    style: str | None  # None: no list of locations (see `check`)
    items: int
    status_code: int | str | None  # the first not 1000 at any envelope level, else the first seen
    status_message: str
    digest: str  # of the items only: the envelope's timestamp changes on every answer
    no_data: bool = False  # no list, and nothing else where one could be: an empty page if status says so
    next: str | None = None  # the body's `next` (a cursor token or a URL), when not null
    bom: bool = False  # the page began with a UTF-8 byte order mark
    keys: tuple[str, ...] = ()  # the top-level keys, for the message when there is no list
    items_at: str = "item"  # the ijson prefix of the locations
    has_next: bool = False  # the body has a top-level `next` key (a cursor-paged feed), null or not


@dataclass
class _Facts:
    """What a page holds where locations may be: gathered the same way from a document or a stream."""

    keys: list[str] = field(default_factory=list)
    lists: dict[Path, tuple[int, str]] = field(default_factory=dict)  # path -> (items, digest)
    statuses: dict[Path, list] = field(default_factory=dict)  # envelope -> [code, message], in order
    bad: bool = False  # a place for locations holding something else than a list, null or an envelope
    top_map: bool = False
    next: str | None = None


def inspect_page(stream: IO[bytes], *, size: int | None = None) -> PageInfo:
    """A page's wire style, how many items, the OCPI status, a digest of the items and its cursor.

    A page of up to `WHOLE_PAGE_BYTES` is parsed at once by pydantic's Rust parser (a page of a paged
    feed is small, and the Python-level event loop below costs more than the request); a larger one
    (an unpaged feed of many MB) is read as a stream, never whole. Both say the same.
    """
    stream, bom = skip_bom(stream)
    if size is not None and size <= WHOLE_PAGE_BYTES:
        return _decide(_document_facts(from_json(stream.read())), bom=bom)
    return _decide(_stream_facts(stream), bom=bom)


def skip_bom(stream: IO[bytes]) -> tuple[IO[bytes], bool]:
    """`stream` past a UTF-8 BOM, and whether there was one."""
    head = stream.read(len(BOM))
    if head == BOM:
        return stream, True
    return cast("IO[bytes]", _Rejoined(head, stream)), False


class _Rejoined:
    """The bytes read ahead, then the rest of the stream: a file for a parser, read in pieces."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size is None or size < 0:
            whole, self._head = self._head + self._rest.read(), b""
            return whole
        piece, self._head = self._head[:size], self._head[size:]
        return piece


def _document_facts(document: object) -> _Facts:
    facts = _Facts()
    if isinstance(document, list):
        facts.lists[()] = (len(document), _items_digest(document))
    elif isinstance(document, dict):
        facts.top_map, facts.keys = True, [str(key) for key in document]
        if isinstance(document.get("next"), str | int | float) and not isinstance(document["next"], bool):
            facts.next = str(document["next"])
        _envelope(document, (), facts)
    return facts


def _envelope(document: dict, path: Path, facts: _Facts) -> None:
    for key, value in document.items():
        if key in STATUS_KEYS or key in _MESSAGES:
            _status(facts, path, key, value)
        if key not in KEYS:
            continue
        inner = (*path, key)
        if isinstance(value, list):
            facts.lists[inner] = (len(value), _items_digest(value))
        elif isinstance(value, dict) and len(inner) < MAX_DEPTH and _is_envelope(value):
            _envelope(value, inner, facts)
        elif value is not None:
            facts.bad = True


def _is_envelope(document: dict) -> bool:
    return any(key in KEYS or key in STATUS_KEYS for key in document)


def _items_digest(items: list) -> str:
    """Of the items only (the envelope's timestamp changes on every answer): cheap, and equal for a page
    served twice."""
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def _status(facts: _Facts, path: Path, key: str, value: object) -> None:
    """Record an envelope's status code or message (codes as numbers or strings, "1000" is 1000)."""
    entry = facts.statuses.setdefault(path, [None, ""])
    if key in _MESSAGES:
        entry[1] = value if isinstance(value, str) else entry[1]
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        entry[0] = int(value)
    elif isinstance(value, str) and value.strip():
        entry[0] = int(value.strip()) if value.strip().lstrip("-").isdigit() else value.strip()


def _stream_facts(stream: IO[bytes]) -> _Facts:
    facts = _Facts()
    envelopes: dict[str, bool] = {}  # open envelope prefix -> holds a place for locations or a status
    active: tuple[Path, str, str] | None = None  # the list being read: path, its prefix, its items'
    count, digest = 0, hashlib.sha256()
    for prefix, event, value in ijson.parse(stream):
        if active is not None:
            if prefix == active[1] and event == "end_array":
                facts.lists[active[0]] = (count, digest.hexdigest())
                active = None
                continue
            count += prefix == active[2] and event in _ITEM_EVENTS
            digest.update(f"{prefix}\x1f{event}\x1f{value}\x1e".encode())
            continue
        path = _place(prefix)
        if path is not None and event == "start_array":
            active, count, digest = (
                (path, prefix, f"{prefix}.item" if prefix else "item"),
                0,
                hashlib.sha256(),
            )
        elif prefix == "":
            facts.top_map = facts.top_map or event == "start_map"
            if event == "start_map":
                envelopes[""] = True
            elif event == "map_key":
                facts.keys.append(str(value))
        elif path is not None:
            facts.bad |= _envelope_event(envelopes, prefix, len(path), event, value)
        else:
            parent, _, key = prefix.rpartition(".")
            if parent in envelopes and (key in STATUS_KEYS or key in _MESSAGES):
                _status(facts, _path(parent), key, value)
            if prefix == "next" and event in ("string", "number"):
                facts.next = str(value)
    return facts


def _envelope_event(envelopes: dict[str, bool], prefix: str, depth: int, event: str, value: object) -> bool:
    """Follow one event at a place for locations; True when that place holds something it must not."""
    if prefix.rpartition(".")[0] not in envelopes and event != "map_key":
        return False  # inside something that is not an envelope
    if event == "start_map":
        if depth >= MAX_DEPTH:
            return True
        envelopes[prefix] = False
    elif event == "map_key":
        if prefix in envelopes and (value in KEYS or value in STATUS_KEYS):
            envelopes[prefix] = True
    elif event == "end_map":
        return prefix in envelopes and not envelopes.pop(prefix)
    elif event != "null":
        return True
    return False


def _place(prefix: str) -> Path | None:
    """The path of a place where locations may be (`data`, `data.locations`, ...), else None."""
    if prefix == "":
        return ()
    parts = tuple(prefix.split("."))
    return parts if len(parts) <= MAX_DEPTH and all(part in KEYS for part in parts) else None


def _path(prefix: str) -> Path:
    return tuple(prefix.split(".")) if prefix else ()


def _decide(facts: _Facts, *, bom: bool) -> PageInfo:
    codes = [entry for entry in facts.statuses.values() if entry[0] is not None]
    failing = [entry for entry in codes if entry[0] != 1000]
    code, message = (failing or codes or [[None, ""]])[0]
    style, items, digest, at = None, 0, _items_digest([]), "item"
    if facts.lists:
        path = min(facts.lists, key=lambda place: [KEYS.index(key) for key in place])
        style, (items, digest), at = _style(path, facts.keys), facts.lists[path], ".".join((*path, "item"))
    return PageInfo(
        style,
        items,
        code,
        message,
        digest,
        no_data=not facts.lists and facts.top_map and not facts.bad,
        next=facts.next,
        bom=bom,
        keys=tuple(facts.keys),
        items_at=at,
        has_next="next" in facts.keys,
    )


def _style(path: Path, keys: list[str]) -> str:
    if path != ("data",):
        return STYLES.get(path, "envelope:" + ".".join(path))
    if "statusCode" in keys and "status_code" not in keys:
        return "ocpi_camel"
    return "ocpi" if "status_code" in keys or set(keys) <= OCPI_ENVELOPE else "data_wrapper"


def check(info: PageInfo) -> PageInfo:
    """The page if it is usable: an error status at any envelope level, or no list of locations, raise."""
    if info.status_code is not None and info.status_code != 1000:
        raise OcpiStatusError(f"OCPI status_code {info.status_code}: {info.status_message or '(no message)'}")
    if info.style is None and not (info.status_code is not None and info.no_data):
        keys = ", ".join(f"`{key}`" for key in info.keys) or "none (not a JSON object)"
        raise NotLocations(
            "no list of locations: expected a bare array, or a list under `data`, `locations` or `items` "
            f"at the top or one envelope deeper; top-level keys: {keys}"
        )
    return info


def read_locations(snapshot: RawSnapshot) -> Iterator[tuple[str, object]]:
    """`(where, location)` for every item of every stored page, in page order, one at a time.

    A page holding exactly the items of the page before it is skipped: it is how a feed paged by guess
    (no Link, no total) says it has no more (the fetch stores it, as returned, and stops there).
    """
    previous = ""
    for name in snapshot.names:
        if not name.startswith(PREFIX):
            continue
        number = int(name.removeprefix(PREFIX).removesuffix(".json"))
        with snapshot.open(name) as stream:
            info = inspect_page(stream)
        if info.style is None or (info.items and info.digest == previous):
            continue  # an envelope with status 1000 and no data (an empty page), or a repeat
        previous = info.digest
        with snapshot.open(name) as stream:
            body, _ = skip_bom(stream)
            for index, item in enumerate(ijson.items(body, info.items_at, use_float=True)):
                yield f"page {number}, item {index}", item
