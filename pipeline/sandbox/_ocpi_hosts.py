"""Fake hosts each serving several operators' OCPI Locations feeds on one port, limiting them together.

Real UK feeds share hosts (three operators on one smartcharging.uk platform, a dozen behind one
Eco-Movement URL) and the limit is the host's. An ``OcpiHost`` serves each of its operators at
``/<operator>/ocpi/2.2.1/locations`` (paged like the spec: envelope, ``X-Total-Count``, an absolute
``Link rel="next"`` while more follow), stamps every request's arrival before anything else, answers
403 to one arriving sooner than ``min_interval_s`` after the previous one to *any* of its feeds (or
before a Retry-After it sent has passed), and can answer its ``throttle_request``-th request with 429
and ``Retry-After``. ``OcpiHosts`` runs several and writes the feed list naming every feed, with the
intervals in a ``hosts:`` map or on every feed. Used by tests and the benchmark only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from pipeline.sandbox._http import Reply, Upstream, json_reply
from pipeline.sandbox._ocpi_data import make_locations
from pipeline.sandbox._service import Service, close_stack, temporary_file

FEED_PATH = "/{operator}/ocpi/2.2.1/locations"
_FORBIDDEN = b"<html><body><h1>403 Forbidden</h1><p>Too many requests from your address.</p></body></html>"


@dataclass(frozen=True)
class Arrival:
    """One request as the host saw it: when it arrived (monotonic seconds), its path, the answer."""

    at: float
    path: str
    status: int


class OcpiHost(Upstream):
    """One host, several feeds: ``feeds`` maps each operator slug to the locations it serves."""

    def __init__(
        self,
        feeds: dict[str, list[dict]],
        *,
        page_size: int = 10,
        min_interval_s: float = 0.0,
        throttle_request: int | None = None,
        retry_after_s: int = 2,
        latency_s: float = 0.0,
    ) -> None:
        super().__init__(latency_s=latency_s)
        if page_size < 1 or min_interval_s < 0 or retry_after_s < 0:
            raise ValueError("page_size must be >= 1, min_interval_s and retry_after_s >= 0")
        self.feeds, self.page_size, self.min_interval_s = feeds, page_size, min_interval_s
        self.throttle_request, self.retry_after_s = throttle_request, retry_after_s
        self._arrivals: list[Arrival] = []
        self._stamps: list[float] = []
        self._not_before = float("-inf")  # a Retry-After sent holds every feed back until then
        self._lock = threading.Lock()
        self._local = threading.local()

    def url(self, operator: str) -> str:
        """The Locations endpoint of ``operator`` on this host."""
        return self.base_url + FEED_PATH.format(operator=operator)

    @property
    def arrivals(self) -> list[Arrival]:
        """Every request so far, in order of arrival."""
        with self._lock:
            return sorted(self._arrivals, key=lambda arrival: arrival.at)

    def gaps(self) -> list[float]:
        """Seconds between the arrivals of consecutive requests, whichever feeds they were for."""
        with self._lock:
            stamps = sorted(self._stamps)
        return [later - earlier for earlier, later in pairwise(stamps)]

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Stamp the arrival first (the latency sleep would blur it), then answer as every upstream does."""
        arrived = time.monotonic()
        with self._lock:
            previous = self._stamps[-1] if self._stamps else None
            self._stamps.append(arrived)
            self._local.number, self._local.arrived = len(self._stamps), arrived
            self._local.too_soon = arrived < self._not_before or (
                previous is not None and arrived - previous < self.min_interval_s
            )
        super().serve(handler)

    def respond(self, path: str, headers: Message) -> Reply:
        reply = self._answer(path)
        with self._lock:
            self._arrivals.append(Arrival(self._local.arrived, path, reply.status))
            if reply.status == 429:
                self._not_before = self._local.arrived + self.retry_after_s
        return reply

    def _answer(self, path: str) -> Reply:
        url = urlsplit(path)
        operator = url.path.strip("/").split("/", 1)[0]
        if operator not in self.feeds or url.path.rstrip("/") != FEED_PATH.format(operator=operator):
            return json_reply(404, _status(2000, f"No endpoint at {url.path}"))
        if self._local.too_soon:
            return Reply(403, _FORBIDDEN, content_type="text/html; charset=utf-8")
        if self._local.number == self.throttle_request:
            body = _status(2000, "Too many requests")
            return json_reply(429, body, headers={"Retry-After": str(self.retry_after_s)})
        query = dict(parse_qsl(url.query))
        offset, limit = int(query.get("offset", "0")), int(query.get("limit", "0"))
        size = min(limit or self.page_size, self.page_size)
        locations = self.feeds[operator]
        items = locations[offset : offset + size]
        headers = {"X-Total-Count": str(len(locations)), "X-Limit": str(self.page_size)}
        if offset + len(items) < len(locations):
            following = urlencode({"offset": offset + len(items), "limit": size})
            headers["Link"] = f'<{self.url(operator)}?{following}>; rel="next"'
        return json_reply(200, {"data": items, **_status(1000, "Success")}, headers=headers)


def _status(code: int, message: str) -> dict:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"status_code": code, "status_message": message, "timestamp": stamp}


@dataclass(frozen=True)
class HostSpec:
    """One fake host: ``feeds`` operators of ``locations`` each; its interval written in the feed list's
    ``hosts:`` map, or with ``per_feed`` on every feed of the host instead."""

    name: str
    feeds: int
    min_interval_s: float
    locations: int = 15
    page_size: int = 10
    per_feed: bool = False
    throttle_request: int | None = None
    retry_after_s: int = 2

    def operators(self) -> list[str]:
        return [f"{self.name}_f{n:02d}" for n in range(self.feeds)]

    @property
    def requests(self) -> int:
        """Requests a polite client makes: every page of every feed, the throttled one again."""
        pages = -(-self.locations // self.page_size) if self.locations else 1
        return self.feeds * pages + (1 if self.throttle_request else 0)


class OcpiHosts(Service):
    """One ``OcpiHost`` per ``HostSpec`` and the feed list naming every feed (removed again on stop)."""

    def __init__(self, specs: Sequence[HostSpec], *, seed: int = 29, latency_s: float = 0.0) -> None:
        self.specs, self.seed, self.latency_s = list(specs), seed, latency_s
        self.hosts: dict[str, OcpiHost] = {}
        self.feeds_path: Path | None = None
        self._stack: ExitStack | None = None

    def start(self) -> Self:
        if self._stack is not None:
            return self
        with ExitStack() as stack:
            for spec in self.specs:
                feeds = {op: make_locations(op, spec.locations, seed=self.seed) for op in spec.operators()}
                host = OcpiHost(
                    feeds,
                    page_size=spec.page_size,
                    min_interval_s=spec.min_interval_s,
                    throttle_request=spec.throttle_request,
                    retry_after_s=spec.retry_after_s,
                    latency_s=self.latency_s,
                )
                self.hosts[spec.name] = stack.enter_context(host)
            self.feeds_path = temporary_file(stack, "sandbox-ocpi-hosts-", "feeds.yaml", self.feed_list())
            self._stack = stack.pop_all()
        return self

    def stop(self) -> None:
        close_stack(self)
        self.hosts, self.feeds_path = {}, None

    def env(self) -> dict[str, str]:
        """``UK_OCPI_FEEDS`` naming the feed list."""
        if self.feeds_path is None:
            raise RuntimeError("OcpiHosts is not running; use it as a context manager")
        return {"UK_OCPI_FEEDS": str(self.feeds_path)}

    def feed_list(self) -> str:
        """The feed list: every feed of every host, then the ``hosts:`` map (``host:port`` keys)."""
        feeds, hosts = ["feeds:"], ["hosts:"]
        for spec in self.specs:
            host = self.hosts[spec.name]
            for operator in spec.operators():
                feeds += [
                    f"  - operator: {operator}",
                    f"    name: Host {operator}",
                    f"    url: {host.url(operator)}",
                ]
                if spec.per_feed:
                    feeds.append(f"    min_interval_s: {spec.min_interval_s}")
            if not spec.per_feed:
                hosts.append(
                    f'  "{urlsplit(host.base_url).netloc}": {{min_interval_s: {spec.min_interval_s}}}'
                )
        return "\n".join(feeds + (hosts if len(hosts) > 1 else [])) + "\n"
