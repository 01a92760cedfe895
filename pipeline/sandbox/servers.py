"""Fake eConnect and NCR upstreams on 127.0.0.1, speaking the real wire formats, with fault injection.

Used by the demo, integration tests and benchmarks so the pipeline's HTTP clients meet paging, auth,
throttling and broken responses without touching the real services. Production code never imports it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import threading
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.sandbox._http import Reply, Upstream, json_reply
from pipeline.sandbox.data import make_stations

__all__ = ["FAULT_KINDS", "EConnectServer", "Fault", "NcrServer"]

FAULT_KINDS = frozenset(
    {
        "status_429",
        "status_503",
        "status_500",
        "truncated_body",
        "slow",
        "not_json",
        "repeat_previous_page",
        "content_not_list",
    }
)

NCR_PATH = "/api/retrieve/registry/format/json"
_STATIONS_PREFIX = "/masterdata/cpos/"
_STATIONS_SUFFIX = "/chargingstations"
_DEFAULT_PAGE_SIZE = 20  # Spring Data's default when no size is given
_NOT_JSON = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, answered ``times`` times before requests are served normally again.

    ``retry_after`` is sent as the Retry-After header on status faults; ``delay_s`` is the sleep for ``slow``.
    """

    kind: str
    times: int = 1
    retry_after: str | None = None
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.times < 1:
            raise ValueError(f"fault times must be >= 1, got {self.times}")


class _FaultQueue:
    """Faults per key (a page number, or one key for a single document), consumed in order, thread-safe."""

    def __init__(self, faults: Mapping[Any, Sequence[Fault]]) -> None:
        # Per key: (fault, answers left) in order of consumption.
        self._pending = {key: [(fault, fault.times) for fault in queue] for key, queue in faults.items()}
        self._lock = threading.Lock()

    def take(self, key: Hashable) -> Fault | None:
        """The fault to apply to this request for ``key``, or None to serve normally."""
        with self._lock:
            queue = self._pending.get(key)
            if not queue:
                return None
            fault, left = queue[0]
            if left == 1:
                queue.pop(0)
            else:
                queue[0] = (fault, left - 1)
            return fault


def _fault_reply(fault: Fault) -> Reply | None:
    """Replies that replace the normal answer entirely; None for faults that alter the normal answer."""
    if fault.kind == "slow":
        time.sleep(fault.delay_s)
        return None
    if fault.kind.startswith("status_"):
        status = int(fault.kind.removeprefix("status_"))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return json_reply(status, _error_body(status, "Injected fault", ""), headers=headers)
    if fault.kind == "not_json":
        return Reply(200, _NOT_JSON, content_type="text/html; charset=utf-8")
    return None


def _error_body(status: int, message: str, path: str) -> dict:
    """A Spring Boot style error document, as the eConnect gateway returns."""
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": path,
    }


class EConnectServer(Upstream):
    """eConnect Masterdata API: Basic-auth'd, Spring Data paged charging stations of one business partner."""

    def __init__(
        self,
        stations: list[dict],
        username: str = "sandbox",
        password: str = "sandbox-secret",  # noqa: S107 - fake, sandbox-only
        business_partner: str = "BP-SANDBOX",
        *,
        page_size_max: int = 100,
        latency_s: float = 0.0,
        faults: Mapping[int, Sequence[Fault]] | None = None,
        drift_after_page: int | None = None,
    ) -> None:
        super().__init__(latency_s=latency_s)
        self.username = username
        self.password = password
        self.business_partner = business_partner
        self.page_size_max = page_size_max
        self.drift_after_page = drift_after_page
        self._stations = list(stations)  # our own list: drift inserts into it, never into the caller's
        self._faults = _FaultQueue(faults or {})
        self._served: dict[int, bytes] = {}  # last normal body per page, for repeat_previous_page
        self._drifted = False
        self._lock = threading.Lock()

    @property
    def stations(self) -> list[dict]:
        """Snapshot of the stations currently served (includes the drift station once inserted)."""
        with self._lock:
            return list(self._stations)

    def respond(self, path: str, headers: Message) -> Reply:
        url = urlsplit(path)
        if not (url.path.startswith(_STATIONS_PREFIX) and url.path.endswith(_STATIONS_SUFFIX)):
            return json_reply(404, _error_body(404, "No static resource", url.path))
        if not self._authorised(headers.get("Authorization")):
            body = _error_body(401, "Full authentication is required to access this resource", url.path)
            return json_reply(401, body, headers={"WWW-Authenticate": 'Basic realm="eConnect"'})
        partner = unquote(url.path[len(_STATIONS_PREFIX) : -len(_STATIONS_SUFFIX)])
        if partner != self.business_partner:
            return json_reply(403, _error_body(403, f"Access to business partner {partner} denied", url.path))
        try:
            page, size = self._paging(url.query)
        except ValueError as error:
            return json_reply(400, _error_body(400, str(error), url.path))
        return self._page_reply(page, size, self._faults.take(page))

    def _authorised(self, header: str | None) -> bool:
        """HTTP Basic check with constant-time comparison, like a real gateway would do."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        return hmac.compare_digest(password.encode(), self.password.encode()) and user_ok

    def _paging(self, query: str) -> tuple[int, int]:
        """``page`` (0-based) and ``size`` (clamped to page_size_max); malformed values raise ValueError."""
        params = parse_qs(query)
        try:
            page = int(params.get("page", ["0"])[-1])
            size = int(params.get("size", [str(_DEFAULT_PAGE_SIZE)])[-1])
        except ValueError:
            raise ValueError("page and size must be integers") from None
        if page < 0 or size < 1:
            raise ValueError("page must be >= 0 and size >= 1")
        return page, min(size, self.page_size_max)

    def _page_reply(self, page: int, size: int, fault: Fault | None) -> Reply:
        """The normal page, or the page as altered by ``fault``."""
        if fault is not None:
            replaced = _fault_reply(fault)
            if replaced is not None:
                return replaced
            if fault.kind == "content_not_list":
                return json_reply(200, {"content": {"oops": 1}})
            if fault.kind == "repeat_previous_page":
                with self._lock:
                    previous = self._served.get(page - 1) or self._render(max(page - 1, 0), size)
                return Reply(200, previous)
        truncate = fault is not None and fault.kind == "truncated_body"
        with self._lock:
            body = self._render(page, size)
            if not truncate:
                self._served[page] = body
                self._drift_if_due(page)
        return Reply(200, body, truncate=truncate)

    def _render(self, page: int, size: int) -> bytes:
        """Spring Data ``Page`` JSON for one page of the current station list; caller holds the lock."""
        total = len(self._stations)
        total_pages = math.ceil(total / size)
        content = self._stations[page * size : (page + 1) * size]
        sort = {"empty": True, "sorted": False, "unsorted": True}
        document = {
            "content": content,
            "pageable": {
                "sort": sort,
                "offset": page * size,
                "pageNumber": page,
                "pageSize": size,
                "paged": True,
                "unpaged": False,
            },
            "last": page + 1 >= total_pages,
            "totalPages": total_pages,
            "totalElements": total,
            "size": size,
            "number": page,
            "sort": sort,
            "first": page == 0,
            "numberOfElements": len(content),
            "empty": not content,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _drift_if_due(self, page: int) -> None:
        """Once page ``drift_after_page`` is out, insert a new station at the front, shifting every page."""
        if self._drifted or page != self.drift_after_page:
            return
        self._drifted = True
        station = copy.deepcopy(make_stations(1, seed=2024)[0])
        station["id"] = "DE*EBS*N000001"  # the N series never occurs in make_stations (E series)
        station["name"] = f"Neu: {station['name']}"
        for number, evse in enumerate(station.get("evses", []), start=1):
            evse["evseId"] = f"{station['id']}*{number}"
        self._stations.insert(0, station)


class NcrServer(Upstream):
    """UK National Chargepoint Registry: the whole registry as one JSON document at a fixed path."""

    def __init__(
        self,
        document: dict | bytes,
        *,
        latency_s: float = 0.0,
        faults: Sequence[Fault] | None = None,
    ) -> None:
        super().__init__(latency_s=latency_s)
        unsupported = [fault.kind for fault in faults or () if fault.kind == "repeat_previous_page"]
        if unsupported:
            raise ValueError("NcrServer serves a single document; 'repeat_previous_page' does not apply")
        self._faults = _FaultQueue({None: list(faults or ())})
        self.publish(document)

    def publish(self, document: dict | bytes) -> None:
        """Serve `document` from now on, with a new ETag and Last-Modified (the registry was updated)."""
        # Serialised once: a registry of many MB must not be re-encoded or copied per request.
        self.body = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
        self.etag = f'"{hashlib.sha256(self.body).hexdigest()[:20]}"'
        self.last_modified = formatdate(time.time(), usegmt=True)

    @property
    def url(self) -> str:
        """Full URL of the registry download."""
        return f"{self.base_url}{NCR_PATH}"

    def respond(self, path: str, headers: Message) -> Reply:
        if urlsplit(path).path != NCR_PATH:
            return json_reply(404, _error_body(404, "Not Found", urlsplit(path).path))
        fault = self._faults.take(None)
        if fault is not None:
            replaced = _fault_reply(fault)
            if replaced is not None:
                return replaced
            if fault.kind == "content_not_list":
                return json_reply(200, {"Scheme": {"SchemeCode": "OCPI"}, "ChargeDevice": {"oops": 1}})
        if headers.get("If-None-Match") == self.etag:
            return Reply(304, b"", headers={"ETag": self.etag})
        validators = {"ETag": self.etag, "Last-Modified": self.last_modified}
        truncate = fault is not None and fault.kind == "truncated_body"
        return Reply(200, self.body, headers=validators, truncate=truncate)
