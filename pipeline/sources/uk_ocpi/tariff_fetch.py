"""Reading a feed's OCPI Tariffs from its `tariffs_url`, in the same step as its locations, right after them.

The tariffs endpoint is read as the feed itself is (client.py, auth.py): the tariffs URL stands in for the
feed's URL, so its origin is allowed and gets the secret as the feed URL's would, the feed's `follow_hosts`
and `send_secret_to` apply, and the requests share the host's clock and the feed's day budget. Two ways:

- paged like Locations (`Link`, `X-Total-Count`, a body's `next`, ...): every page stored as returned;
- a URL holding `{tariff_id}` (Jolt): one request per distinct tariff id the day's stored locations name
  (ids compared whatever their case, URL-quoted), one file per tariff. An id the endpoint does not know
  (HTTP 404, or OCPI status 2003/2004) is stored as `{"data": null, "tariff_id": ..., "missing": ...}` and
  its connectors' tariff is then not found; any other failure fails the tariffs, not the locations.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from pipeline.resources.http import ByteBudget, Spacing, redact_url
from pipeline.resources.raw_zone import RawSnapshot, SnapshotWriter
from pipeline.resources.upstream import UpstreamError
from pipeline.sources.uk_ocpi.auth import FeedError
from pipeline.sources.uk_ocpi.client import MAX_PAGE_BYTES, FeedFetch, OcpiFeeds
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.raw import page_name
from pipeline.sources.uk_ocpi.tariff_raw import PER_ID, named_tariff_ids, page_tariffs, per_id, read_answer

UNKNOWN_STATUSES = frozenset({2003, 2004})  # OCPI: unknown object


def tariff_endpoint(feed: Feed) -> Feed:
    """`feed` with its tariffs URL in place of its locations URL: the origin, secret and host it is read
    with (a copy, not validated again; `{tariff_id}` stays in the URL)."""
    if not feed.tariffs_url:
        raise ValueError(f"feed {feed.operator} has no tariffs_url")
    return feed.model_copy(update={"url": feed.tariffs_url})


def fetch_tariffs(
    uk_ocpi: OcpiFeeds,
    feed: Feed,
    writer: SnapshotWriter,
    *,
    locations: RawSnapshot,
    clock: Spacing | None = None,
    budget: ByteBudget | None = None,
) -> FeedFetch:
    """Read `feed`'s tariffs into `writer`: paged, or one request per id its stored `locations` name."""
    endpoint = tariff_endpoint(feed)
    if not per_id(feed):
        return uk_ocpi.fetch(endpoint, writer, clock=clock, budget=budget)
    access, client = uk_ocpi.client(endpoint, clock=clock)
    budget = budget or uk_ocpi.day_budget(feed)
    result, missing = FeedFetch(styles=["per_id"]), []
    try:
        for number, tariff_id in enumerate(named_tariff_ids(locations)):
            url = access.url(endpoint.url.replace(PER_ID, quote(tariff_id, safe="")))
            name = page_name(number)
            result.pages += 1
            try:
                client.download_json(
                    url,
                    writer.path(name),
                    headers=access.headers(url),
                    what=f"feed {feed.operator}, tariff {tariff_id!r}",
                    max_bytes=uk_ocpi.max_page_bytes,
                    max_bytes_setting=MAX_PAGE_BYTES,
                    budget=budget,
                )
            except UpstreamError as exc:
                if exc.status != 404:
                    raise
                missing.append(tariff_id)
                writer.write_bytes(name, _missing(tariff_id, "HTTP 404"))
                continue
            found = _one_tariff(feed, url, writer, name)
            if found is None:
                missing.append(tariff_id)
                writer.write_bytes(name, _missing(tariff_id, "OCPI unknown object"))
            result.records += found or 0
        result.ended = "every named tariff asked"
    finally:
        result.requests, result.retries = client.stats.requests, client.stats.retries
        result.bytes = client.stats.bytes_received
    writer.notes["missing_tariff_ids"] = missing
    return result


def _one_tariff(feed: Feed, url: str, writer: SnapshotWriter, name: str) -> int | None:
    """1 when the stored answer holds the tariff; None when it says the tariff is unknown."""
    with writer.path(name).open("rb") as stream:
        document = read_answer(stream)
    code = document.get("status_code", document.get("statusCode")) if isinstance(document, dict) else None
    code = int(code) if isinstance(code, int | str) and str(code).strip().isdigit() else code
    if code in UNKNOWN_STATUSES:
        return None
    if code is not None and code != 1000:
        raise FeedError(f"Feed {feed.operator} ({redact_url(url)}): OCPI status_code {code}.")
    if len(page_tariffs(document)) != 1:
        raise FeedError(f"Feed {feed.operator} ({redact_url(url)}): expected one tariff object under `data`.")
    return 1


def _missing(tariff_id: str, why: str) -> bytes:
    return json.dumps({"data": None, "tariff_id": tariff_id, "missing": why}).encode()
