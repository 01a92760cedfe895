"""Fake UK charge point operators' OCPI 2.2.1 Locations open-data feeds on 127.0.0.1, and a set of them.

Real UK feeds bend the spec in known ways; a server's ``style`` fixes its envelope and paging for every
request, its ``quirks`` add what other real feeds do, and it asks for its secret as ``Authorization:
Token``, in another header or as a query parameter: ``_ocpi_wire`` lists them all.

``OcpiSandbox`` runs one server per operator (``FeedSpec``) and writes the feed list ``UK_OCPI_FEEDS``
names. Used by the demo, tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from email.message import Message
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pipeline.sandbox._http import Reply, Upstream
from pipeline.sandbox._ocpi_data import (
    CASE_POWER_W,
    CASES,
    DEFAULT_FEEDS,
    OCPI_TOKEN,
    STYLES,
    TOKEN_ENV,
    FeedSpec,
    check_feed,
    location_cases,
    make_locations,
    make_tariffs,
)
from pipeline.sandbox._ocpi_variants import apply
from pipeline.sandbox._ocpi_wire import (
    PAGED,
    STATUS_MESSAGES,
    Asked,
    Pager,
    asked,
    authorised,
    bend,
    error_reply,
    status_reply,
    unpaged,
)
from pipeline.sandbox._service import Service
from pipeline.sandbox.faults import Fault, FaultQueue, cut_short, fault_reply

__all__ = [
    "CASES",
    "CASE_POWER_W",
    "DEFAULT_FEEDS",
    "FEEDS_ENV",
    "LOCATIONS_PATH",
    "OCPI_TOKEN",
    "STYLES",
    "TOKEN_ENV",
    "FeedSpec",
    "OcpiOperatorServer",
    "OcpiSandbox",
    "location_cases",
    "make_locations",
    "make_tariffs",
]

LOCATIONS_PATH = "/ocpi/2.2.1/locations"
FEEDS_ENV = "UK_OCPI_FEEDS"
# A client spacing its request *starts* by exactly min_interval_s must pass despite network jitter.
_INTERVAL_SLACK_S = 0.02
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_FORBIDDEN = b"<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"


class OcpiOperatorServer(Upstream):
    """One operator's OCPI Locations endpoint at ``LOCATIONS_PATH`` (``.url``), in one fixed ``style``.

    ``token`` requires the secret (``Authorization: Token <token>``, else as is in ``auth_header``, or
    as the query parameter ``auth_param``; else 401); ``min_interval_s`` answers 403 to a request arriving
    sooner than that after the previous one; ``always_fail`` answers 500; ``status_code`` answers 200 with
    an envelope carrying that OCPI status code and no data. ``faults`` are keyed by page (``offset //
    items per page``; 0 for the unpaged styles) or, with ``fault_key="request"``, by the 1-based number
    of the request to the endpoint.
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
    ) -> None:
        super().__init__(latency_s=latency_s)
        check_feed(style, page_size, min_interval_s, quirks=quirks)
        if fault_key not in ("page", "request"):
            raise ValueError(f"fault_key must be 'page' or 'request', got {fault_key!r}")
        self.style, self.page_size, self.token = style, page_size, token
        self.auth_header, self.auth_param, self.quirks = auth_header, auth_param, frozenset(quirks)
        self.min_interval_s, self.always_fail, self.status_code = min_interval_s, always_fail, status_code
        self.fault_key = fault_key
        self._locations = list(locations)
        self._tariffs = list(tariffs)
        self._faults = FaultQueue(faults or {})
        self._served: dict[int, bytes] = {}  # last normal body per page, for repeat_previous_page
        self._count = 0
        self._last_arrival: float | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The Locations endpoint, as the feed list names it."""
        return f"{self.base_url}{LOCATIONS_PATH}"

    def respond(self, path: str, headers: Message) -> Reply:
        url = urlsplit(path)
        if url.path.rstrip("/") != LOCATIONS_PATH:
            return status_reply(404, 2000, f"No endpoint at {url.path}")
        number, too_soon = self._arrive()
        if too_soon:
            return Reply(403, _FORBIDDEN, content_type="text/html; charset=utf-8")
        if self.token is not None and not authorised(
            self.token, headers, url.query, header=self.auth_header, param=self.auth_param
        ):
            return status_reply(401, 2000, "Unauthorized: missing or unknown credentials token")
        if self.always_fail:
            return status_reply(500, 3000, STATUS_MESSAGES[3000])
        try:
            ask = asked(url.query)
        except ValueError as error:
            return status_reply(400, 2001, str(error))
        size = min(ask.limit or self.page_size, self.page_size)
        page = ask.offset // size if self.style in PAGED else 0
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
        if not kind:
            with self._lock:
                self._served[page] = reply.body
        return cut_short(reply, fault)

    def _arrive(self) -> tuple[int, bool]:
        """Number this request and say whether it came too soon after the previous one."""
        now = time.monotonic()
        with self._lock:
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
            return unpaged(self.style, {"oops": 1} if broken else self._locations, self._tariffs)
        pager = Pager(self.style, self.page_size, self.url, self.quirks)
        return pager.page(self._locations, ask, size, broken=broken)


class OcpiSandbox(Service):
    """One ``OcpiOperatorServer`` per feed, and the feed list naming them (removed again on stop).

    ``specs`` defaults to ``DEFAULT_FEEDS`` (the five original styles, a token feed, a feed demanding 0.3 s
    between requests, one always failing, and two shaped like real UK feeds), with ``latency_s`` applied to
    each; ``seed`` feeds ``make_locations``, whose output each spec's ``variants`` then bend.
    """

    def __init__(
        self, specs: Sequence[FeedSpec] | None = None, *, seed: int = 23, latency_s: float = 0.0
    ) -> None:
        self.specs = (
            list(specs) if specs is not None else [replace(s, latency_s=latency_s) for s in DEFAULT_FEEDS]
        )
        operators = [spec.operator for spec in self.specs]
        if len(set(operators)) != len(operators):
            raise ValueError(f"operators must be unique, got {operators}")
        self.locations: dict[str, list[dict]] = {
            spec.operator: apply(make_locations(spec.operator, spec.locations, seed=seed), *spec.variants)
            if isinstance(spec.locations, int)
            else apply(spec.locations, *spec.variants)
            for spec in self.specs
        }
        self._servers: dict[str, OcpiOperatorServer] = {}
        self._feeds_path: Path | None = None
        self._stack: ExitStack | None = None

    @property
    def servers(self) -> dict[str, OcpiOperatorServer]:
        """Operator slug -> its running server."""
        self._running()
        return dict(self._servers)

    @property
    def feeds_path(self) -> Path:
        """The feed list (YAML) naming every fake operator."""
        return self._running()

    def start(self) -> Self:
        """Start every operator, then write the feed list; on failure the started ones stop again."""
        if self._stack is not None:
            return self
        with ExitStack() as stack:
            servers = {spec.operator: stack.enter_context(self._server(spec)) for spec in self.specs}
            directory = Path(tempfile.mkdtemp(prefix="sandbox-ocpi-"))
            stack.callback(shutil.rmtree, directory, ignore_errors=True)
            path = directory / "feeds.yaml"
            path.write_text(
                feeds_yaml(self.specs, {op: s.url for op, s in servers.items()}), encoding="utf-8"
            )
            self._servers, self._feeds_path = servers, path
            self._stack = stack.pop_all()
        return self

    def stop(self) -> None:
        """Stop every operator and remove the feed list; safe to call twice."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()
        self._servers, self._feeds_path = {}, None

    def env(self) -> dict[str, str]:
        """``UK_OCPI_FEEDS`` and every token variable the feed list names (``SANDBOX_OCPI_TOKEN`` always)."""
        tokens = {spec.token_env: spec.token for spec in self.specs if spec.token_env and spec.token}
        return {FEEDS_ENV: str(self.feeds_path), TOKEN_ENV: OCPI_TOKEN, **tokens}

    def _running(self) -> Path:
        if self._feeds_path is None:
            raise RuntimeError("OcpiSandbox is not running; use it as a context manager")
        return self._feeds_path

    def _server(self, spec: FeedSpec) -> OcpiOperatorServer:
        return OcpiOperatorServer(
            self.locations[spec.operator],
            style=spec.style,
            page_size=spec.page_size,
            tariffs=make_tariffs(spec.operator),
            token=spec.token,
            auth_header=spec.auth_header,
            auth_param=spec.auth_param,
            quirks=spec.quirks,
            min_interval_s=spec.min_interval_s,
            always_fail=spec.always_fail,
            status_code=spec.status_code,
            latency_s=spec.latency_s,
            faults=spec.faults,
        )


def feeds_yaml(specs: Sequence[FeedSpec], urls: Mapping[str, str]) -> str:
    """The feed list, in the format ``pipeline/sources/uk_ocpi/feeds.yaml`` documents."""
    lines = [
        "# Fake UK OCPI feeds of the sandbox, on 127.0.0.1 only; removed when the sandbox stops.",
        "feeds:",
    ]
    for spec in specs:
        lines += [
            f"  - operator: {spec.operator}",
            f"    name: {_scalar(spec.name)}",
            f"    url: {urls[spec.operator]}",
        ]
        if spec.token_env:
            lines.append(f"    token_env: {spec.token_env}")
        if spec.auth_header:
            lines.append(f"    header: {spec.auth_header}")
        if spec.auth_param:
            lines.append(f"    query_param: {spec.auth_param}")
        if spec.min_interval_s is not None:
            lines.append(f"    min_interval_s: {f'{spec.min_interval_s:.6f}'.rstrip('0').rstrip('.')}")
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when that reads back as the same string, else double-quoted."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9 .&()'-]*[A-Za-z0-9.)]|[A-Za-z]", text)
    return text if plain and text.lower() not in _YAML_WORDS else json.dumps(text)
