"""Politeness per host: one clock per host, hosts read in parallel, the feeds of a host one after the other.

Limits are a host's, not a feed's: ChargePlace Scotland, Evolt and PoGo share one host that answers 403
after a burst, and Eco-Movement serves many operators from one URL with one hourly allowance. So:

- a feed's host is its URL's host name, lower-cased, without any `user:password@`, with the port when
  the URL names one other than its scheme's default (`host_key`);
- a host's interval is the strictest of its `hosts:` entry in the feed list and the `min_interval_s` of
  every feed of the list on that host (`host_intervals`);
- one `Spacing` per host is shared by every feed of that host, so two requests never reach a host
  closer than its interval (counted from the previous answer), retries included, and a Retry-After
  answered to one feed holds back every feed of its host;
- hosts are read concurrently (at most `max_concurrency` at once, the busiest first), the feeds of one
  host one after the other, each giving its own outcome (`HostSchedule.run`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from pipeline.resources.http import Spacing

if TYPE_CHECKING:
    from pipeline.sources.uk_ocpi.feeds import Feed

T = TypeVar("T")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str:
    """The host `url` is asked at: `opendata.example.co.uk`, `127.0.0.1:8080`, `[::1]:8080`."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address keeps its brackets, so a port stays readable
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def host_intervals(feeds: Sequence[Feed], hosts: Mapping[str, float] | None = None) -> dict[str, float]:
    """Host -> least seconds between two request starts: the largest of its `hosts:` entry and the
    `min_interval_s` of every feed on it. Only hosts some feed is on; in the order of the list."""
    intervals: dict[str, float] = {}
    for feed in feeds:
        key = host_key(feed.url)
        intervals[key] = max(intervals.get(key, 0.0), feed.min_interval_s, (hosts or {}).get(key, 0.0))
    return intervals


class HostSchedule:
    """The hosts of a feed list, each with its clock: who is read when, and how far apart."""

    def __init__(self, feeds: Sequence[Feed], *, hosts: Mapping[str, float] | None = None) -> None:
        """`feeds` is the whole list (every feed's interval counts for its host, read or not today);
        `hosts` the list's `hosts:` map, host -> min_interval_s."""
        self.intervals = host_intervals(feeds, hosts)
        self._clocks = {key: Spacing(interval) for key, interval in self.intervals.items()}

    def clock(self, feed: Feed) -> Spacing:
        """The clock of `feed`'s host, shared by every feed of that host (a new host gets its own)."""
        key = host_key(feed.url)
        if key not in self._clocks:
            self.intervals[key] = feed.min_interval_s
            self._clocks[key] = Spacing(feed.min_interval_s)
        return self._clocks[key]

    def groups(self, feeds: Sequence[Feed]) -> dict[str, list[Feed]]:
        """`feeds` by host, each host's feeds in list order; the hosts with the most waiting ahead
        (feeds × interval) first, so a limit on hosts at once does not leave the longest one for last."""
        grouped: dict[str, list[Feed]] = {}
        for feed in feeds:
            self.clock(feed)
            grouped.setdefault(host_key(feed.url), []).append(feed)
        order = sorted(grouped, key=lambda key: len(grouped[key]) * self.intervals[key], reverse=True)
        return {key: grouped[key] for key in order}

    def run(
        self,
        feeds: Sequence[Feed],
        read: Callable[[Feed, Spacing], T],
        *,
        max_concurrency: int,
        log: Callable[[str], object] | None = None,
    ) -> list[T]:
        """`read(feed, clock)` for every feed: hosts concurrently, a host's feeds one after the other.

        `read` must not raise (one feed's failure is its outcome, and the next feed of its host is read
        all the same). The results are in the order of `feeds`.
        """
        groups = self.groups(feeds)
        results: dict[str, T] = {}

        def host(key: str) -> None:
            started = time.perf_counter()
            for feed in groups[key]:
                results[feed.operator] = read(feed, self._clocks[key])
            if log is not None:
                log(
                    f"Host {key}: {len(groups[key])} feeds one after the other, "
                    f"{self.intervals[key]:g} s apart, in {time.perf_counter() - started:.2f} s"
                )

        workers = max(1, min(max_concurrency, len(groups)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocpi-host") as pool:
            list(pool.map(host, groups))
        return [results[feed.operator] for feed in feeds]
