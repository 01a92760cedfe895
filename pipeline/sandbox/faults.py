"""Injected misbehaviour every fake upstream shares: throttling, outages, cut bodies, HTML, slowness.

A test names the faults a request should meet (per page, or for a single document); the fake answers
them in order, then serves normally again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from pipeline.sandbox._http import Reply, json_reply

__all__ = ["FAULT_KINDS", "Fault", "FaultQueue", "cut_short", "error_body", "fault_reply"]

FAULT_KINDS = frozenset(
    {
        "status_429",
        "status_503",
        "status_500",
        "truncated_body",
        "truncated_no_length",
        "slow",
        "not_json",
        "repeat_previous_page",
        "content_not_list",
    }
)

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


class FaultQueue:
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


def fault_reply(fault: Fault) -> Reply | None:
    """Replies that replace the normal answer entirely; None for faults that alter the normal answer."""
    if fault.kind == "slow":
        time.sleep(fault.delay_s)
        return None
    if fault.kind.startswith("status_"):
        status = int(fault.kind.removeprefix("status_"))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return json_reply(status, error_body(status, "Injected fault", ""), headers=headers)
    if fault.kind == "not_json":
        return Reply(200, _NOT_JSON, content_type="text/html; charset=utf-8")
    return None


def error_body(status: int, message: str, path: str) -> dict:
    """A Spring Boot style error document, as the eConnect gateway returns."""
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "path": path,
    }


def cut_short(reply: Reply, fault: Fault | None) -> Reply:
    """`reply` cut short the way `fault` says (after a full Content-Length, or without one), or as is."""
    kind = fault.kind if fault is not None else ""
    reply.truncate = kind in ("truncated_body", "truncated_no_length")
    reply.content_length = kind != "truncated_no_length"
    return reply
