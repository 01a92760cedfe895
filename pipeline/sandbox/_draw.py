"""Small drawing helpers shared by the synthetic data generators."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def allot(rng: random.Random, count: int, wanted: dict[str, int]) -> dict[int, str]:
    """Map record index -> special case, with disjoint indices so each case gets exactly its quota.

    ``wanted`` maps case name -> number of records; callers that need several distinct values (each of
    the formula names, say) ask for numbered cases like ``formula0``, ``formula1`` with a quota of one.
    """
    kinds = [kind for kind, number in wanted.items() for _ in range(number)]
    return dict(zip(rng.sample(range(count), min(count, len(kinds))), kinds, strict=False))


def share(count: int, rate: float) -> int:
    """How many of ``count`` records get a special value occurring at ``rate``."""
    return round(count * rate)


def random_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A uniformly drawn second between ``start`` and ``end``."""
    return start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
