"""Is a feed's snapshot the whole feed? Two signs that it is not, read from what the fetch recorded.

A feed can end its paging early without any error: an `X-Total-Count` that shrinks mid-crawl, a next
page that never comes, a server that stops answering after a burst. The snapshot is still stored (it is
what the feed said), but it must not pass as complete. Pure: numbers in, a reason out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Shortfall:
    """Why a snapshot looks short, with both numbers; falsy when it does not."""

    reason: str = ""  # "" when the snapshot looks whole
    received: int = 0
    expected: int | None = None  # the declared total, or the previous snapshot's locations

    def __bool__(self) -> bool:
        return bool(self.reason)


def shortfall(
    notes: Mapping[str, object], *, previous: int | None, previous_day: str = "", max_drop: float
) -> Shortfall:
    """The first sign that a snapshot is short, from its fetch notes.

    - `below_declared_total`: fewer locations received than the largest `X-Total-Count` the feed
      declared during the crawl;
    - `dropped`: fewer than `(1 - max_drop)` × the locations of the feed's previous complete snapshot.

    `previous` is that snapshot's `records` (None when there is none, or it held none).
    """
    received = _int(notes.get("records")) or 0
    declared = _int(notes.get("declared_total"))
    if declared is not None and received < declared:
        return Shortfall(
            f"below the declared total: received {received} locations, the feed declared {declared} "
            "(X-Total-Count)",
            received,
            declared,
        )
    if previous and received < previous * (1 - max_drop):
        fall = 1 - received / previous
        return Shortfall(
            f"dropped {fall:.0%}: received {received} locations, {previous} in the previous complete "
            f"snapshot ({previous_day}); more than UK_OCPI_MAX_DROP ({max_drop:.0%})",
            received,
            previous,
        )
    return Shortfall(received=received)


def _int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
