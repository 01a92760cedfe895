"""What the UK sources share: the one way a postcode and a month are written in every UK output."""

from __future__ import annotations

import re

_WHITESPACE = re.compile(r"\s+")


def normalise_postcode(raw: str | None) -> str:
    """`tw62rq`, ` tw6  2rq ` → `TW6 2RQ`: upper case, inner spaces removed, one before the last three."""
    if not raw:
        return ""
    compact = _WHITESPACE.sub("", raw).upper()
    if len(compact) <= 3:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def month_updated(raw: str | None) -> str:
    """The `YYYY-MM` part of a timestamp (its first seven characters); "" when there is none."""
    return raw[:7] if raw else ""
