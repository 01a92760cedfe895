"""One fake UK charge point operator's OCPI 2.2.1 Locations endpoint (``OcpiOperatorServer``), on 127.0.0.1
(or 127.0.0.2, a second origin): its ``style``, ``quirks``, auth, interval, faults and hostile behaviour.

Re-exported by ``pipeline.sandbox.uk_ocpi``, which also runs a set of them (``OcpiSandbox``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from email.message import Message
from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote, urlsplit

from pipeline.sandbox._http import Reply, Upstream, json_reply
from pipeline.sandbox._ocpi_data import (
    check_feed,
)
from pipeline.sandbox._ocpi_hostile import Hostile, stream_endless
from pipeline.sandbox._ocpi_wire import (
    PAGED,
    STATUS_MESSAGES,
    Asked,
    Pager,
    asked,
    authorised,
    bend,
    envelope,
    error_reply,
    status_reply,
    unpaged,
)
from pipeline.sandbox.faults import Fault, FaultQueue, cut_short, fault_reply

LOCATIONS_PATH = "/ocpi/2.2.1/locations"
TARIFFS_PATH = "/ocpi/2.2.1/tariffs"
# A client spacing its request *starts* by exactly min_interval_s must pass despite network jitter.
_INTERVAL_SLACK_S = 0.02
_FORBIDDEN = b"<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"


class OcpiOperatorServer(Upstream):
    """One operator's OCPI Locations endpoint at ``LOCATIONS_PATH`` (``.url``), in one fixed ``style``.

    ``token`` requires the secret (``Authorization: Token <token>``, else as is in ``auth_header``, or
    as the query parameter ``auth_param``; else 401); ``min_interval_s`` answers 403 to a request arriving
    sooner than that after the previous one; ``always_fail`` answers 500; ``status_code`` answers 200 with
    an envelope carrying that OCPI status code and no data. ``faults`` are keyed by page (``offset //
    items per page``; 0 for the unpaged styles) or, with ``fault_key="request"``, by the 1-based number
    of the request to the endpoint. ``hostile`` misbehaves as a feed nobody controls might (see
    ``_ocpi_hostile``); ``host`` is the loopback address it binds (127.0.0.2: a second origin).
    ``seen_headers`` are the headers of every request, names lower-cased.

    ``tariffs`` are published as ``tariffs_mode`` says: in the document of a document style
    (``document``), at ``TARIFFS_PATH`` paged like ``ocpi_link`` (``paged``), at ``TARIFFS_PATH/{id}``
    one at a time, ids matched whatever their case, unknown ones 404 (``per_id``), or not at all;
    ``tariffs_down`` answers 500 there. Tariff requests share the endpoint's auth and interval.
    """

    def __init__(
        self,
        locations: Sequence[dict],
        *,
        style: str = "ocpi_link",
        page_size: int = 20,
        tariffs: Sequence[dict] = (),
        token: str | None = None,
        auth_header: str | None = None,
        auth_param: str | None = None,
        quirks: Collection[str] = (),
        min_interval_s: float | None = None,
        always_fail: bool = False,
        status_code: int | None = None,
        latency_s: float = 0.0,
        faults: Mapping[int, Sequence[Fault]] | None = None,
        fault_key: str = "page",
        hostile: Hostile | None = None,
        host: str = "127.0.0.1",
        tariffs_mode: str = "document",
        tariffs_down: bool = False,
    ) -> None:
        super().__init__(latency_s=latency_s)
        self.host, self.hostile = host, hostile
        self._seen_headers: list[dict[str, str]] = []
        check_feed(style, page_size, min_interval_s, quirks=quirks)
        if fault_key not in ("page", "request"):
            raise ValueError(f"fault_key must be 'page' or 'request', got {fault_key!r}")
        self.style, self.page_size, self.token = style, page_size, token
        self.auth_header, self.auth_param, self.quirks = auth_header, auth_param, frozenset(quirks)
        self.min_interval_s, self.always_fail, self.status_code = min_interval_s, always_fail, status_code
        self.fault_key = fault_key
        self._locations = list(locations)
        self._tariffs = list(tariffs)
        self.tariffs_mode, self.tariffs_down = tariffs_mode, tariffs_down
        self._faults = FaultQueue(faults or {})
        self._served: dict[int, bytes] = {}  # last normal body per page, for repeat_previous_page
        self._count = 0
        self._last_arrival: float | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The Locations endpoint, as the feed list names it."""
        return f"{self.base_url}{LOCATIONS_PATH}"

    @property
    def seen_headers(self) -> list[dict[str, str]]:
        """The headers of every request to the endpoint so far, names lower-cased, oldest first."""
        with self._lock:
            return list(self._seen_headers)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """As every fake, except an ``endless_page`` operator's page: streamed until the client hangs up."""
        url = urlsplit(handler.path)
        hostile = self.hostile
        if hostile is None or hostile.kind != "endless_page" or url.path.rstrip("/") != LOCATIONS_PATH:
            return super().serve(handler)
        try:
            page = self._page(asked(url.query))
        except ValueError:
            page = 0
        if not hostile.on(page):
            return super().serve(handler)
        self._arrive(handler.headers)
        with self._log_lock:
            self._log.append((handler.path, 200))
        stream_endless(handler)
        return None

    def respond(self, path: str, headers: Message) -> Reply:
        url = urlsplit(path)
        where = url.path.rstrip("/")
        tariffs = self._tariffs_path(where)
        if where != LOCATIONS_PATH and tariffs is None:
            return status_reply(404, 2000, f"No endpoint at {url.path}")
        number, too_soon = self._arrive(headers)
        if too_soon:
            return Reply(403, _FORBIDDEN, content_type="text/html; charset=utf-8")
        if self.token is not None and not authorised(
            self.token, headers, url.query, header=self.auth_header, param=self.auth_param
        ):
            return status_reply(401, 2000, "Unauthorized: missing or unknown credentials token")
        if tariffs is not None:
            return self._tariffs_reply(tariffs, url.query)
        if self.always_fail:
            return status_reply(500, 3000, STATUS_MESSAGES[3000])
        try:
            ask = asked(url.query)
        except ValueError as error:
            return status_reply(400, 2001, str(error))
        size, page = self._size(ask), self._page(ask)
        hostile = self.hostile.reply(page, path) if self.hostile is not None else None
        if hostile is not None:
            return hostile
        fault = self._faults.take(number if self.fault_key == "request" else page)
        replaced = fault_reply(fault) if fault is not None else None
        if replaced is not None:
            return replaced
        if self.status_code is not None:
            return error_reply(self.style, self.status_code)
        kind = fault.kind if fault is not None else ""
        if kind == "repeat_previous_page":
            with self._lock:
                previous = self._served.get(page - 1)
            if previous:
                return Reply(200, previous)
            ask = replace(ask, offset=max(ask.offset - size, 0))
        reply = bend(self._reply(ask, size, kind), self.quirks, self.base_url)
        if self.hostile is not None:
            reply = self.hostile.bend(reply, page, self.base_url)
        if not kind:
            with self._lock:
                self._served[page] = reply.body
        return cut_short(reply, fault)

    def _tariffs_path(self, where: str) -> str | None:
        """'' for the paged tariffs endpoint, the id asked for at ``/tariffs/{id}``, else None."""
        if self.tariffs_mode == "paged" and where == TARIFFS_PATH:
            return ""
        if self.tariffs_mode == "per_id" and where.startswith(f"{TARIFFS_PATH}/"):
            return unquote(where.removeprefix(f"{TARIFFS_PATH}/")) or None
        return None

    def _tariffs_reply(self, tariff_id: str, query: str) -> Reply:
        if self.tariffs_down:
            return status_reply(500, 3000, STATUS_MESSAGES[3000])
        if tariff_id:
            found = [t for t in self._tariffs if str(t.get("id", "")).casefold() == tariff_id.casefold()]
            if not found:
                return status_reply(404, 2004, f"Unknown Tariff {tariff_id}")
            return json_reply(200, envelope(found[0]))
        try:
            ask = asked(query)
        except ValueError as error:
            return status_reply(400, 2001, str(error))
        pager = Pager("ocpi_link", self.page_size, f"{self.base_url}{TARIFFS_PATH}")
        return pager.page(self._tariffs, ask, min(ask.limit or self.page_size, self.page_size))

    def _size(self, ask: Asked) -> int:
        return min(ask.limit or self.page_size, self.page_size)

    def _page(self, ask: Asked) -> int:
        return ask.offset // self._size(ask) if self.style in PAGED else 0

    def _arrive(self, headers: Message) -> tuple[int, bool]:
        """Number this request and say whether it came too soon after the previous one."""
        now = time.monotonic()
        with self._lock:
            self._seen_headers.append({name.lower(): value for name, value in headers.items()})
            self._count += 1
            previous, self._last_arrival = self._last_arrival, now
            number = self._count
        if self.min_interval_s is None or previous is None:
            return number, False
        return number, now - previous < self.min_interval_s - _INTERVAL_SLACK_S

    def _reply(self, ask: Asked, size: int, kind: str) -> Reply:
        """The normal answer of this style (``content_not_list``: the locations replaced by an object)."""
        broken = kind == "content_not_list"
        if self.style not in PAGED:
            published = self._tariffs if self.tariffs_mode == "document" else []
            return unpaged(self.style, {"oops": 1} if broken else self._locations, published)
        pager = Pager(self.style, self.page_size, self.url, self.quirks)
        return pager.page(self._locations, ask, size, broken=broken)
