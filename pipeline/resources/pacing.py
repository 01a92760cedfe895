"""Politeness towards one upstream: request starts spaced across threads and clients, and Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RateLimiter:
    """At most `per_second` request starts per second across threads, evenly spaced.

    A dozen lines, so no dependency: spacing starts is all a polite client needs here.
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Reserve the next slot; return how long the caller must sleep before using it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
            return slot - now


class Spacing:
    """One upstream's politeness: two requests never reach it closer than `interval_s` apart, across
    every client and thread sharing it, and none before a Retry-After has passed (`defer`).

    The next request may start `interval_s` after the previous one was *answered* (its status line came
    back: the latest the server can have seen it), not after it started: a request that leaves late (a
    new connection, a busy thread) would make the gap the server sees shorter than the one the client
    measured, which the benchmark saw at start-to-start spacing with a 10 ms margin. Nor after its body
    was read: a large page does not add its download time. Threads sharing it also start at least
    `interval_s` apart. Shared by several `HttpClient`s, it is one clock for one host, whatever the feed.
    """

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.interval_s = interval_s
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Spacing(interval_s={self.interval_s})"

    def wait_time(self) -> float:
        """Seconds until a request may start (0 when it may start now); reserves nothing."""
        with self._lock:
            return max(0.0, self._next - self._clock())

    def start(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep until a request may start, then take the slot (the next start is an interval later)."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._next - now
                if wait <= 0:
                    self._next = now + self.interval_s
                    return
            sleep(wait)

    def answered(self) -> None:
        """The request started last was answered (or failed): the next starts an interval from now."""
        with self._lock:
            self._next = max(self._next, self._clock() + self.interval_s)

    def defer(self, seconds: float) -> None:
        """No request starts before `seconds` from now (a Retry-After); never brings a start forward."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)
