"""Reading operators' OCPI Locations feeds: politely, page by page to disk, each feed on its own.

One feed is read serially, never faster than its `min_interval_s`; feeds are read concurrently
(`max_concurrency`). Paging follows OCPI 2.2.1 and the ways real feeds depart from it:

- `Link: <...>; rel="next"` is followed exactly as given;
- without `Link`, the next page is asked for while the offset is below `X-Total-Count`, advancing by
  the number of items received (servers may return fewer than asked); `X-Limit: 0` is ignored;
- an empty page ends the paging; so does a page that is the whole feed (no `Link`, no total);
- a page repeating the previous one, or paging past `max_pages`, fails instead of looping.

Every page is stored exactly as returned, streamed to disk and parsed to its end while it arrives.
A token is sent as `Authorization: Token <value>` from the variable the feed names; it is never held
by the resource, logged or put in an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from requests.utils import parse_header_links

from pipeline.resources.http import HttpClient, HttpSettings, UpstreamError, redact_url
from pipeline.resources.raw_zone import SnapshotWriter
from pipeline.sources.uk_ocpi.feeds import Feed, feeds_file, load_feeds
from pipeline.sources.uk_ocpi.raw import check, inspect_page, page_name


class FeedError(UpstreamError):
    """One feed could not be read; the message names the feed and what to do."""


@dataclass
class FeedFetch:
    """What reading one feed took and gave."""

    styles: list[str] = field(default_factory=list)
    pages: int = 0
    records: int = 0
    bytes: int = 0
    requests: int = 0
    retries: int = 0

    @property
    def style(self) -> str:
        return "+".join(sorted(set(self.styles))) or "empty"

    def notes(self) -> dict[str, object]:
        return {
            "wire_style": self.style,
            "pages": self.pages,
            "records": self.records,
            "bytes": self.bytes,
            "http_requests": self.requests,
            "http_retries": self.retries,
        }


class OcpiFeeds(ConfigurableResource):
    """The operators' feeds named by the feed list, and how they are read."""

    feeds_file: str = Field(default="", description="UK_OCPI_FEEDS: the feed list; empty = the bundled one.")
    max_concurrency: int = Field(default=8, ge=1, description="Feeds read at once (UK_OCPI_MAX_CONCURRENCY).")
    max_pages: int = Field(default=10_000, ge=1, description="Safety stop for a feed whose pages never end.")
    max_drop: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="UK_OCPI_MAX_DROP: a feed whose locations fell by more than this share against its "
        "previous complete snapshot is stored but flagged short.",
    )
    http: HttpSettings = HttpSettings()

    def feeds(self) -> list[Feed]:
        return load_feeds(feeds_file({"UK_OCPI_FEEDS": self.feeds_file}))

    def fetch(self, feed: Feed, writer: SnapshotWriter) -> FeedFetch:
        """Read every page of `feed` into `writer`; `FeedError`/`UpstreamError` when it cannot be read."""
        client = HttpClient(
            self.http,
            min_interval_s=feed.min_interval_s,
            pool_size=1,
            refused_hint=_refused_hint(feed),
            logger=get_dagster_logger(),
        )
        result = FeedFetch()
        try:
            _read_pages(feed, writer, client, result, self.max_pages)
        finally:
            result.requests, result.retries = client.stats.requests, client.stats.retries
            result.bytes = client.stats.bytes_received
        return result


def _read_pages(
    feed: Feed, writer: SnapshotWriter, client: HttpClient, result: FeedFetch, max_pages: int
) -> None:
    headers = _auth(feed)
    url, offset, previous = feed.url, 0, ""
    for number in range(max_pages):
        target = writer.path(page_name(number))
        download = client.download_json(
            url, target, headers=headers, what=f"feed {feed.operator}, page {number}"
        )
        with target.open("rb") as stream:
            try:
                info = check(inspect_page(stream, size=download.bytes))
            except ValueError as exc:
                raise FeedError(f"Feed {feed.operator} ({redact_url(url)}), page {number}: {exc}.") from None
        result.pages += 1
        result.records += info.items
        if info.style:
            result.styles.append(info.style)
        if info.items == 0:
            return
        if info.digest == previous:
            raise FeedError(
                f"Feed {feed.operator}: page {number} ({redact_url(url)}) repeats the page before it "
                "exactly; the server seems to ignore `offset`. Stopping instead of looping."
            )
        previous = info.digest
        follow = _next_url(url, download.headers, offset + info.items)
        if follow is None:
            return
        url, offset = follow, offset + info.items
    raise FeedError(
        f"Feed {feed.operator} still returned locations after {max_pages} pages; stopping. Check the feed "
        "or raise max_pages on the uk_ocpi resource."
    )


def _next_url(url: str, headers: object, offset: int) -> str | None:
    """The next page: the `Link rel=next` as given, else by offset below `X-Total-Count`, else none."""
    get: Callable[[str], str | None] = getattr(headers, "get", lambda name: None)
    for link in parse_header_links(get("Link") or ""):
        if link.get("rel") == "next" and link.get("url"):
            return urljoin(url, link["url"])
    total = get("X-Total-Count")
    if total is None or not total.strip().isdigit() or offset >= int(total):
        return None
    paging = {"offset": str(offset)}
    limit = get("X-Limit")
    if limit and limit.strip().isdigit() and int(limit) > 0:  # `X-Limit: 0` says nothing usable
        paging["limit"] = limit.strip()
    # The feed's own parameters stay as they were, repeated and blank ones included, in their order.
    kept = [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k not in paging]
    query = [*kept, *paging.items()]
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _auth(feed: Feed) -> dict[str, str] | None:
    if not feed.token_env:
        return None
    token = os.environ.get(feed.token_env, "").strip()  # a secret file's trailing newline is not the token
    if not token:
        raise FeedError(
            f"Feed {feed.operator} needs a token: set {feed.token_env} in the environment (see the feed list "
            "for how to obtain one)."
        )
    return {"Authorization": f"Token {token}"}


def _refused_hint(feed: Feed) -> str:
    if feed.token_env:
        return f"Feed {feed.operator} did not accept the token in {feed.token_env}; check or renew it."
    return (
        f"Feed {feed.operator} refused an anonymous request; if it answered a burst of requests, raise its "
        "min_interval_s in the feed list, else it may now need a token (token_env)."
    )
