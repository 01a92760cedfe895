"""eConnect's raw zone: one JSON file per page, exactly as the API returned it."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.resources.raw_zone import RawSnapshot

PREFIX = "page-"


def page_name(number: int) -> str:
    return f"{PREFIX}{number:06d}.json"


def read_pages(snapshot: RawSnapshot) -> Iterator[tuple[int, bytes]]:
    """`(page number, body)` from a stored snapshot, in page order; a few pages in memory at a time."""
    pages = [name for name in snapshot.names if name.startswith(PREFIX)]
    for name, body in snapshot.read_many(pages):
        yield int(name.removeprefix(PREFIX).removesuffix(".json")), body
