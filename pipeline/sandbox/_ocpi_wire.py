"""How a fake UK OCPI operator puts its locations on the wire: envelopes, paging headers and quirks.

A server's ``style`` fixes its envelope and paging, for every request:

- ``ocpi_link``: the spec. Envelope (``data``, ``status_code``, ``status_message``, ``timestamp``), paged by
  ``offset``/``limit`` (never more than its page size), ``X-Total-Count``, ``X-Limit`` and an absolute
  ``Link: <...>; rel="next"`` while more follow.
- ``ocpi_camel``: as ``ocpi_link``, with camelCase envelope keys (``statusCode``, ``statusMessage``).
- ``ocpi_total_count``: envelope, paged, ``X-Total-Count`` but no ``Link``, ``X-Limit: 0``, and at most its
  page size (7 in the default set) per page whatever ``limit`` asks.
- ``ocpi_offset_only``: envelope, paged by ``offset``/``limit`` with neither ``Link`` nor ``X-Total-Count``
  (``X-Limit`` only): a reader must guess that a full page means more.
- ``items_cursor``: ``{"items": [...], "next": <cursor or null>}``, paged by ``?cursor=``.
- ``locations_key``: one unpaged ``{"locations": [...]}``.
- ``data_document``: one unpaged envelope whose ``data`` is ``{"locations": [...], "tariffs": [...]}``.
- ``nested_envelope``: Mer UK's unpaged ``{"data": {"locations": <envelope>, "tariffs": <envelope>}}``.
- ``data_wrapper``: one unpaged non-OCPI ``{"name": "OK", "message": "ok", "data": [...], "error": null}``.
- ``bare_array``: one unpaged bare JSON array.

``quirks`` add what other real feeds do (``_ocpi_wire.QUIRKS``: a BOM, WordPress's extra Link, ``NEXT`` and
``next last`` rels, relative Links, a shrinking total, no ``X-Limit``, an ignored offset, cursor URLs).
The secret is asked for as ``Authorization: Token``, in another header (``auth_header``) or as a query
parameter (``auth_param``).

Pure: what to answer for one request, no sockets.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pipeline.sandbox._http import Reply, json_reply

# Paged styles (by `offset`/`limit`, or by cursor); every other style is one unpaged document.
PAGED = ("ocpi_link", "ocpi_total_count", "ocpi_camel", "ocpi_offset_only", "items_cursor")
QUIRKS = {
    "bom": "a UTF-8 byte order mark before the JSON",
    "wp_link": 'a WordPress `Link: <...>; rel="https://api.w.org/"` on every answer',
    "rel_upper": 'the next page\'s Link as `rel="NEXT"`',
    "rel_list": 'the next page\'s Link as `rel="next last"`',
    "relative_link": "the next page's Link relative to the endpoint (`locations?offset=...`)",
    "shrinking_total": "from the second page on, X-Total-Count says only what was served, and no Link",
    "no_x_limit": "no X-Limit header (`ocpi_offset_only`: the reader has only the `limit` it sent)",
    "ignore_offset": "every page is the first (`offset` and cursors ignored)",
    "cursor_url": "`items_cursor`: `next` is the next page's absolute URL, not a bare token",
    "cursor_relative": "`items_cursor`: `next` is a relative URL (`?cursor=...`)",
}
# OCPI 2.2.1 status codes (status_codes.asciidoc) the fakes answer with.
STATUS_MESSAGES = {
    1000: "Success",
    2000: "Generic client error",
    2001: "Invalid or missing parameters",
    2003: "Unknown Location",
    3000: "Generic server error",
}
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Asked:
    """What one GET asked for: ``offset`` (from a cursor too), ``limit`` (None when absent or < 1), the
    other parameters in order (kept for the next Link)."""

    offset: int
    limit: int | None
    kept: list[tuple[str, str]]


def asked(query: str) -> Asked:
    """The paging a query asks for; ValueError naming what is wrong."""
    params = parse_qsl(query, keep_blank_values=True)
    values = dict(params)
    try:
        offset, limit = int(values.get("offset", "0")), int(values.get("limit", "0"))
        if "cursor" in values:
            offset = int(base64.urlsafe_b64decode(values["cursor"].encode()).decode().removeprefix("at:"))
    except ValueError:
        raise ValueError("offset and limit must be integers, cursor one this server gave") from None
    if offset < 0:
        raise ValueError("offset must be >= 0")
    others = [(n, v) for n, v in params if n not in ("offset", "limit", "cursor")]
    return Asked(offset, limit if limit > 0 else None, others)


def cursor(offset: int) -> str:
    """An opaque cursor token for the page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"at:{offset}".encode()).decode()


def authorised(token: str, headers: Message, query: str, *, header: str | None, param: str | None) -> bool:
    """The secret exactly as this operator asks for it: ``Authorization: Token <token>`` by default, as
    is in ``header``, or as the query parameter ``param``; compared in constant time."""
    if param is not None:
        given = dict(parse_qsl(query, keep_blank_values=True)).get(param, "")
    elif header is not None:
        given = headers.get(header) or ""
    else:
        given, token = headers.get("Authorization") or "", f"Token {token}"
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def unpaged(style: str, locations: Any, tariffs: Sequence[dict]) -> Reply:
    """The one document of an unpaged style (``locations`` may be a fault's non-list)."""
    if style == "locations_key":
        return json_reply(200, {"locations": locations})
    if style == "data_document":
        return json_reply(200, envelope({"locations": locations, "tariffs": list(tariffs)}))
    if style == "nested_envelope":  # Mer UK: a whole envelope per object type, inside the document
        return json_reply(
            200, {"data": {"locations": envelope(locations), "tariffs": envelope(list(tariffs))}}
        )
    if style == "data_wrapper":
        return json_reply(
            200, {"name": "OK", "message": "ok", "data": locations, "error": None, "forcelogout": False}
        )
    return json_reply(200, locations)


@dataclass(frozen=True)
class Pager:
    """One paged server's way of answering: its style, page size, endpoint URL and quirks."""

    style: str
    page_size: int
    url: str
    quirks: Collection[str] = ()

    def page(self, locations: Sequence[dict], ask: Asked, size: int, *, broken: bool = False) -> Reply:
        """The page ``ask`` asks for (``broken``: the locations replaced by an object)."""
        start = 0 if "ignore_offset" in self.quirks else ask.offset
        items = list(locations[start : start + size])
        end, total = start + len(items), len(locations)
        shrunk = "shrinking_total" in self.quirks and start > 0
        headers = self._counts(end if shrunk else total, size)
        link = self._next_link(ask, end, size) if end < total and not shrunk else ""
        if link:
            headers["Link"] = link
        data: Any = {"oops": 1} if broken else items
        if self.style == "items_cursor":
            return json_reply(200, {"items": data, "next": self._cursor(end) if end < total else None})
        if self.style == "ocpi_camel":
            return json_reply(
                200, {"data": data, **camel_status(1000, STATUS_MESSAGES[1000])}, headers=headers
            )
        return json_reply(200, envelope(data), headers=headers)

    def _counts(self, total: int, size: int) -> dict[str, str]:
        if self.style in ("ocpi_link", "ocpi_camel"):
            return {"X-Total-Count": str(total), "X-Limit": str(self.page_size)}
        if self.style == "ocpi_total_count":
            return {"X-Total-Count": str(total), "X-Limit": "0"}
        if self.style == "ocpi_offset_only" and "no_x_limit" not in self.quirks:
            return {"X-Limit": str(size)}
        return {}

    def _next_link(self, ask: Asked, end: int, size: int) -> str:
        if self.style not in ("ocpi_link", "ocpi_camel"):
            return ""
        query = urlencode([*ask.kept, ("offset", end), ("limit", size)])
        target = f"locations?{query}" if "relative_link" in self.quirks else f"{self.url}?{query}"
        rel = "NEXT" if "rel_upper" in self.quirks else "next last" if "rel_list" in self.quirks else "next"
        return f'<{target}>; rel="{rel}"'

    def _cursor(self, end: int) -> str:
        if "cursor_url" in self.quirks:
            return f"{self.url}?cursor={cursor(end)}"
        return f"?cursor={cursor(end)}" if "cursor_relative" in self.quirks else cursor(end)


def bend(reply: Reply, quirks: Collection[str], base_url: str) -> Reply:
    """The reply as a server with these quirks sends it: a UTF-8 BOM before the JSON, WordPress's
    REST API Link beside any other."""
    if reply.status != 200:
        return reply
    if "bom" in quirks:
        reply.body = BOM + reply.body
    if "wp_link" in quirks:
        wordpress = f'<{base_url}/wp-json/>; rel="https://api.w.org/"'
        reply.headers["Link"] = ", ".join(filter(None, [reply.headers.get("Link"), wordpress]))
    return reply


def envelope(data: Any) -> dict:
    """The spec's response envelope around successful ``data``."""
    return {"data": data, **status(1000, STATUS_MESSAGES[1000])}


def status(status_code: int, message: str) -> dict:
    return {"status_code": status_code, "status_message": message, "timestamp": _stamp()}


def camel_status(status_code: int, message: str) -> dict:
    return {"statusCode": status_code, "statusMessage": message, "timestamp": _stamp()}


def status_reply(http_status: int, status_code: int, message: str) -> Reply:
    """An OCPI response without data: the status code says what went wrong."""
    return json_reply(http_status, status(status_code, message))


def error_reply(style: str, status_code: int) -> Reply:
    """A 200 whose envelope carries ``status_code``, at the level this style keeps its status."""
    message = STATUS_MESSAGES.get(status_code, "Error")
    if style == "ocpi_camel":
        return json_reply(200, {"data": None, **camel_status(status_code, message)})
    if style == "nested_envelope":
        return json_reply(200, {"data": {"locations": {"data": None, **status(status_code, message)}}})
    return status_reply(200, status_code, message)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
