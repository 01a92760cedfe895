"""Reading operators' OCPI Locations feeds: politely, page by page to disk, each feed on its own.

Paging follows OCPI 2.2.1 and the ways real UK feeds depart from it, read from each answer (no per-feed
switch), in this order:

- a `Link` with `rel` `next` is followed (`rel` in any case and as a space-separated list: `NEXT`,
  `next last`; relative URLs resolved; other relations, such as WordPress's `https://api.w.org/` on
  every page, ignored); a `Link` naming only other pages (`prev`, `last`) ends the paging;
- a body's `next` (the `items_cursor` envelope) is followed: a URL as given, a bare token sent back as
  `?cursor=<token>` on the feed's URL (no UK feed documents another way); `next: null` ends it;
- else the next offset is asked for while below `X-Total-Count`, advancing by the items received (servers
  may return fewer than asked); the total may change between pages: paging follows the current one and
  the largest is recorded (`declared_total`), so a crawl ending below it is seen as short;
- a page with none of these that holds exactly the `limit` the URL asked for, or `X-Limit` (> 0; `0` is
  ignored), asks for the next offset by guess; a guessed page repeating the previous one then ends the
  feed; otherwise a page repeating the previous one fails instead of looping, as does paging past
  `max_pages`; an empty page ends the paging, and a page with no paging signal is the whole feed.

`FeedFetch.ended` says which end was met. Every page is stored exactly as returned (a UTF-8 BOM too,
counted in `boms`), streamed to disk and parsed to its end while it arrives. The secret of `token_env` is
sent as `Authorization: Token <value>`, as is in the feed's `header`, or as its `query_param` on every
request to the feed's own origin (next pages included, replacing a value a Link echoes); it is never held
by the resource, logged or put in an error, and any URL shown masks the parameter as `***`.

A feed you do not control cannot lead the reader elsewhere nor fill the disk (auth.py):

- a next page or a redirect is followed only on the feed URL's own origin or a host of its `follow_hosts`
  (never from https to http); anything else fails the feed (`OriginRefused`, naming both origins) before
  it is asked, and the secret reaches no other origin than the feed's, unless `send_secret_to` says so;
- a page stops being read the moment its decoded bytes (a gzip body counts what it expands to) pass
  `max_page_bytes` (UK_OCPI_MAX_PAGE_BYTES, 256 MiB), and a feed the moment all its pages of the day
  pass `max_bytes` (UK_OCPI_MAX_BYTES, 1 GiB; `day_budget`, shared with the feed's tariffs):
  `TooLarge` names the feed, the limit and the setting, and the raw zone keeps nothing of the attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from requests.utils import parse_header_links
from upath import UPath

from pipeline.resources.http import (
    ByteBudget,
    Download,
    HttpClient,
    HttpSettings,
    Spacing,
    hide_query_param,
    redact_url,
)
from pipeline.resources.raw_zone import SnapshotWriter
from pipeline.sources.uk_ocpi.auth import FeedAccess, FeedError, refused_hint, with_param
from pipeline.sources.uk_ocpi.feeds import Feed, feeds_file, load_feeds
from pipeline.sources.uk_ocpi.raw import PageInfo, check, inspect_page, page_name

__all__ = ["FeedError", "FeedFetch", "OcpiFeeds"]

PAGING_RELATIONS = frozenset({"next", "prev", "previous", "first", "last"})
MAX_BYTES, DEFAULT_MAX_BYTES = "UK_OCPI_MAX_BYTES", 1 << 30  # a feed's day, all its pages together
MAX_PAGE_BYTES, DEFAULT_MAX_PAGE_BYTES = "UK_OCPI_MAX_PAGE_BYTES", 256 << 20


@dataclass
class FeedFetch:
    """What reading one feed took and gave. `records` are the locations received (a guessed page
    repeating the one before is stored but not counted); `declared_total` the largest `X-Total-Count`."""

    styles: list[str] = field(default_factory=list)
    pages: int = 0
    records: int = 0
    bytes: int = 0
    requests: int = 0
    retries: int = 0
    declared_total: int | None = None
    boms: int = 0
    ended: str = ""

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
            "declared_total": self.declared_total,
            "boms": self.boms,
            "ended": self.ended,
        }


class OcpiFeeds(ConfigurableResource):
    """The operators' feeds named by the feed list, and how they are read."""

    feeds_file: str = Field(default="", description="UK_OCPI_FEEDS: the feed list; empty = the bundled one.")
    max_concurrency: int = Field(
        default=8, ge=1, description="Hosts read at once, a host's feeds in turn (UK_OCPI_MAX_CONCURRENCY)."
    )
    max_pages: int = Field(default=10_000, ge=1, description="Safety stop for a feed whose pages never end.")
    max_drop: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="UK_OCPI_MAX_DROP: a feed whose locations fell by more than this share against its "
        "previous complete snapshot is stored but flagged short.",
    )
    max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES,
        ge=1,
        description="UK_OCPI_MAX_BYTES: bytes one feed may send in a day, all pages together (decoded); "
        "past it the feed fails and nothing of its day is stored.",
    )
    max_page_bytes: int = Field(
        default=DEFAULT_MAX_PAGE_BYTES,
        ge=1,
        description="UK_OCPI_MAX_PAGE_BYTES: bytes one page may hold (decoded); past it the feed fails.",
    )
    http: HttpSettings = HttpSettings()

    def feeds(self) -> list[Feed]:
        return load_feeds(feeds_file({"UK_OCPI_FEEDS": self.feeds_file}))

    def day_budget(self, feed: Feed) -> ByteBudget:
        """The bytes `feed` may still send today: one budget for its pages and its tariffs."""
        return ByteBudget(
            self.max_bytes, setting=MAX_BYTES, what=f"the day's download of feed {feed.operator}"
        )

    def fetch(
        self,
        feed: Feed,
        writer: SnapshotWriter,
        *,
        clock: Spacing | None = None,
        budget: ByteBudget | None = None,
    ) -> FeedFetch:
        """Read every page of `feed` into `writer`; `FeedError`/`UpstreamError` when it cannot be read.

        `clock` is the feed's host's, shared with the other feeds of that host (see hosts.py); without
        one, the feed is spaced by its own `min_interval_s`. `budget` is the feed's day (`day_budget`),
        when other reads of the feed share it.
        """
        access, client = self.client(feed, clock=clock)
        pages = _Pages(feed, writer, client, access, budget or self.day_budget(feed), self.max_page_bytes)
        result = FeedFetch()
        try:
            _read_pages(pages, result, self.max_pages)
        finally:
            result.requests, result.retries = client.stats.requests, client.stats.retries
            result.bytes = client.stats.bytes_received
        return result

    def client(self, feed: Feed, *, clock: Spacing | None = None) -> tuple[FeedAccess, HttpClient]:
        """The origins and secret of `feed` and an HTTP client keeping them, on `clock` (else spaced by
        the feed's own `min_interval_s`); `FeedError` before any request when its secret is not set."""
        if feed.query_param:  # masked in every URL shown from now on
            hide_query_param(feed.query_param)
        access = FeedAccess(feed)
        client = HttpClient(
            self.http,
            spacing=clock if clock is not None else Spacing(feed.min_interval_s),
            pool_size=1,
            refused_hint=refused_hint(feed),
            logger=get_dagster_logger(),
            origins=access.origins,
            secret_headers=access.secret_headers,
        )
        return access, client


@dataclass(frozen=True)
class _Pages:
    """How one feed's pages are asked for and stored: where, with what, within which limits."""

    feed: Feed
    writer: SnapshotWriter
    client: HttpClient
    access: FeedAccess
    budget: ByteBudget
    max_page_bytes: int

    def get(self, url: str, number: int) -> tuple[str, UPath, Download]:
        """Page `number` from `url` (the secret added where it may go) into its file: (URL, file, answer)."""
        url = self.access.url(url)
        target = self.writer.path(page_name(number))
        download = self.client.download_json(
            url,
            target,
            headers=self.access.headers(url),
            what=f"feed {self.feed.operator}, page {number}",
            max_bytes=self.max_page_bytes,
            max_bytes_setting=MAX_PAGE_BYTES,
            budget=self.budget,
        )
        return url, target, download


def _read_pages(pages: _Pages, result: FeedFetch, max_pages: int) -> None:
    feed = pages.feed
    url, offset, previous, guessed = feed.url, 0, "", False
    for number in range(max_pages):
        url, target, download = pages.get(url, number)
        info = _inspect(feed, url, number, target, download.bytes)
        result.pages += 1
        result.boms += info.bom
        result.styles += [info.style] if info.style else []
        total = _count(download.headers, "X-Total-Count")
        if total is not None:
            result.declared_total = max(result.declared_total or 0, total)
        if info.items and info.digest == previous:
            if guessed:  # stored as returned; readers skip a page repeating the one before
                result.ended = "repeated page (guessed paging)"
                return
            raise FeedError(
                f"Feed {feed.operator}: page {number} ({redact_url(url)}) repeats the page before it "
                "exactly; the server seems to ignore `offset`. Stopping instead of looping."
            )
        result.records += info.items
        if info.items == 0:
            result.ended = "empty page"
            return
        previous, offset = info.digest, offset + info.items
        answered = download.url or url  # after a redirect, relative URLs are relative to where it led
        follow, guessed, result.ended = _next_page(feed.url, answered, download.headers, info, offset, total)
        if follow is None:
            return
        # A Link or a body's `next` may name any URL: nothing is asked off the feed's origins.
        pages.access.origins.check(follow, what=f"Feed {feed.operator}: the next page after page {number}")
        url = follow
    raise FeedError(
        f"Feed {feed.operator} still returned locations after {max_pages} pages; stopping. Check the feed "
        "or raise max_pages on the uk_ocpi resource."
    )


def _inspect(feed: Feed, url: str, number: int, target: UPath, size: int) -> PageInfo:
    with target.open("rb") as stream:
        try:
            return check(inspect_page(stream, size=size))
        except ValueError as exc:
            raise FeedError(f"Feed {feed.operator} ({redact_url(url)}), page {number}: {exc}.") from None


def _next_page(
    feed_url: str, url: str, headers: Mapping[str, str], info: PageInfo, offset: int, total: int | None
) -> tuple[str | None, bool, str]:
    """(the next page's URL or None, whether it is a guess, why paging ended when it did)."""
    links = _links(url, headers.get("Link") or "")
    if "next" in links:
        return links["next"], False, ""
    if info.next is not None:
        return _cursor(feed_url, url, info.next), False, ""
    if info.has_next or links:  # a null cursor, or a Link naming other pages but no next
        return None, False, "no next page"
    if total is not None:
        return (
            (_offset(url, offset, headers), False, "") if offset < total else (None, False, "total reached")
        )
    sent = _digits(dict(parse_qsl(urlsplit(url).query)).get("limit"))
    limits = {limit for limit in (sent, _count(headers, "X-Limit")) if limit}
    if info.items in limits:  # a full page and nothing else to go by: ask for more
        return _offset(url, offset, headers), True, ""
    return None, False, "page below the limit" if limits else "one document"


def _links(url: str, header: str) -> dict[str, str]:
    """The paging relations of a `Link` header (rel matched in any case, as a space-separated list),
    relative URLs resolved; any other relation (WordPress's `https://api.w.org/`) ignored."""
    found: dict[str, str] = {}
    for link in parse_header_links(header):
        for rel in str(link.get("rel", "")).lower().split():
            if rel in PAGING_RELATIONS and link.get("url"):
                found.setdefault(rel, urljoin(url, link["url"]))
    return found


def _cursor(feed_url: str, url: str, cursor: str) -> str:
    """A body's `next`: a URL (absolute, or relative to the page) as given; a bare token as
    `?cursor=<token>` on the feed's own URL (no UK feed documents another way to send it back)."""
    if cursor.startswith(("http://", "https://", "/", "?", ".")) or "/" in cursor or "?" in cursor:
        return urljoin(url, cursor)
    return with_param(feed_url, "cursor", cursor)


def _offset(url: str, offset: int, headers: Mapping[str, str]) -> str:
    """`url` asking for `offset` (and `X-Limit` as `limit` when above 0), its other parameters kept."""
    paging = {"offset": str(offset)}
    limit = _count(headers, "X-Limit")
    if limit:  # `X-Limit: 0` says nothing usable
        paging["limit"] = str(limit)
    # The feed's own parameters stay as they were, repeated and blank ones included, in their order.
    kept = [(k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k not in paging]
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*kept, *paging.items()]), ""))


def _count(headers: Mapping[str, str], name: str) -> int | None:
    return _digits(headers.get(name))


def _digits(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None
