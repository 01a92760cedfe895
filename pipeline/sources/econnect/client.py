"""The eConnect Masterdata API client: page through a business partner's charging stations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice
from typing import Any

import msgspec
import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from pydantic_core import from_json

from pipeline.resources.http import HttpClient, HttpSettings, InvalidBody, Origins, UpstreamError


@dataclass(frozen=True)
class Page:
    """One page exactly as received, and the ids of its `content`, in order (None for an item that is
    not an object or has no id)."""

    number: int
    body: bytes
    ids: tuple[object, ...]
    total_elements: int | None = None
    total_pages: int | None = None

    @property
    def records(self) -> int:
        return len(self.ids)

    def fingerprint(self) -> str:
        """`totalElements` plus a hash of the content: changes when the fleet changes (page 0 suffices)."""
        content = from_json(self.body)["content"]
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        return f"{self.total_elements}:{digest[:16]}"


class _Item(msgspec.Struct, gc=False):
    id: Any = None


class _PageHead(msgspec.Struct, gc=False):
    """What the client needs of a page: each item's id and the totals. Nothing else is decoded."""

    content: list[_Item] | None = None
    totalElements: Any = None
    totalPages: Any = None


_PAGE_HEAD = msgspec.json.Decoder(_PageHead)


class _RepeatGuard:
    """Fails when a page holds the same stations, in the same order, as a neighbour (a server that
    ignores `page`). Pages may arrive in any order. Ids, not whole records, are compared: re-serialising
    every record to hash it cost more CPU than the request itself."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._ids: dict[int, tuple[object, ...]] = {}

    def checked(self, page: Page) -> Page:
        if page.ids:
            self._ids[page.number] = page.ids
            for neighbour in (page.number - 1, page.number + 1):
                if self._ids.get(neighbour) == page.ids:
                    first, second = sorted((neighbour, page.number))
                    raise UpstreamError(
                        f"Page {second} of {self._url} repeats page {first} exactly: the server seems to "
                        "ignore the `page` parameter. Stopping instead of looping; check the API version."
                    )
        return page


class EConnectApi(ConfigurableResource):
    """Basic-auth client for `GET {base_url}/masterdata/cpos/{business_partner}/chargingstations`.

    Requests go to `base_url`'s origin only; a redirect elsewhere is refused before it is followed,
    unless `follow_hosts` names that host, and the credentials never leave `base_url`'s origin.
    """

    base_url: str = Field(
        description="The API's base URL (ECONNECT_API_URL), e.g. https://api.services-emobility.com."
    )
    username: str
    password: str = Field(repr=False)
    business_partner: str
    page_size: int = 100
    max_pages: int = Field(
        default=100_000, description="Safety stop: fail rather than page forever if pages never run empty."
    )
    max_concurrency: int = Field(
        default=4,
        ge=1,
        description="Pages fetched at once once page 0 reveals the total (ECONNECT_MAX_CONCURRENCY).",
    )
    max_rps: float | None = Field(
        default=None, gt=0, description="Optional cap on requests per second (ECONNECT_MAX_RPS)."
    )
    follow_hosts: list[str] = Field(
        default=[],
        description="ECONNECT_FOLLOW_HOSTS: hosts ('host' or 'host:port') besides base_url's own that a "
        "redirect may lead to (a mirror, a CDN); they never receive the credentials.",
    )
    http: HttpSettings = HttpSettings()

    def stations_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/masterdata/cpos/{self.business_partner}/chargingstations"

    def iter_pages(self, client: HttpClient | None = None) -> Iterator[Page]:
        """Yield every page from 0 up to and including the first page whose `content` is empty.

        When page 0 reveals `totalPages`, pages 1 … totalPages-1 are fetched `max_concurrency` at a time
        and yielded as they arrive (not in order); paging then goes on one page at a time until an empty
        page, so a server that under-reports its totals never makes us stop early. A page repeating its
        neighbour exactly (a server ignoring `page`) fails instead of looping; so does paging past
        `max_pages`.
        """
        client = client or self.http_client()
        url = self.stations_url()
        guard = _RepeatGuard(url)
        first = self._fetch_page(client, url, 0)
        yield guard.checked(first)
        if not first.ids:
            return
        next_number = 1
        if self.max_concurrency > 1 and first.total_pages and first.total_pages > 1:
            next_number = min(first.total_pages, self.max_pages + 1)
            yield from self._fetch_concurrently(client, url, range(1, next_number), guard)
        for number in range(next_number, self.max_pages + 1):
            page = guard.checked(self._fetch_page(client, url, number))
            yield page
            if not page.ids:
                return
        raise UpstreamError(
            f"{url} still returned stations after {self.max_pages} pages; stopping. If the fleet really is "
            "that large, raise `max_pages` on the econnect resource."
        )

    def _fetch_concurrently(
        self, client: HttpClient, url: str, numbers: range, guard: _RepeatGuard
    ) -> Iterator[Page]:
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="econnect-page")
        # A window of requests, refilled as pages are handed on: a page is let go once yielded. (With
        # every page submitted up front, each finished one stayed referenced until the last: 400 MB at
        # 200,000 stations, and a garbage collector busy walking them.)
        todo = iter(numbers)
        pending = {
            pool.submit(self._fetch_page, client, url, n) for n in islice(todo, 2 * self.max_concurrency)
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    page = future.result()
                    pending.update(pool.submit(self._fetch_page, client, url, n) for n in islice(todo, 1))
                    yield guard.checked(page)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def fingerprint(self) -> str:
        """A cheap change detector for sensors: page 0's fingerprint (one request, quick retries)."""
        client = self.http_client(polling=True)
        return self._fetch_page(client, self.stations_url(), 0).fingerprint()

    def http_client(self, *, polling: bool = False) -> HttpClient:
        return HttpClient(
            self.http.for_polling() if polling else self.http,
            max_rps=self.max_rps,
            pool_size=self.max_concurrency,
            auth=(self.username, self.password),
            refused_hint="The credentials were not accepted: check ECONNECT_USERNAME, ECONNECT_PASSWORD and "
            "ECONNECT_BUSINESS_PARTNER.",
            logger=get_dagster_logger(),
            origins=Origins.of(
                self.base_url, follow_hosts=self.follow_hosts, setting="ECONNECT_FOLLOW_HOSTS"
            ),
        )

    def _fetch_page(self, client: HttpClient, url: str, number: int) -> Page:
        def read(response: requests.Response) -> Page:
            body = response.content
            client.stats.add(bytes_received=len(body))
            ids, total, pages = _page_head(body)
            return Page(
                number=number,
                body=body,
                ids=ids,
                total_elements=total if isinstance(total, int) and not isinstance(total, bool) else None,
                total_pages=pages if isinstance(pages, int) and not isinstance(pages, bool) else None,
            )

        return client.fetch(url, read, params={"page": number, "size": self.page_size}, what=f"page {number}")


def _page_head(body: bytes) -> tuple[tuple[object, ...], object, object]:
    """(ids, totalElements, totalPages) of a page body; `InvalidBody` (retried) when it is not a page
    with a `content` list. msgspec decodes only the ids; a page with an item that is not an object is
    read whole instead."""
    try:
        head = _PAGE_HEAD.decode(body)
        if head.content is not None:
            return tuple(item.id for item in head.content), head.totalElements, head.totalPages
    except msgspec.ValidationError:
        pass  # an item, or the document, of another shape: read it whole to say what it is
    except msgspec.DecodeError:
        raise InvalidBody(f"body is not valid JSON ({len(body)} bytes, starts {body[:60]!r})") from None
    document = from_json(body)
    content = document.get("content") if isinstance(document, dict) else None
    if not isinstance(content, list):
        raise InvalidBody(f"body has no `content` list (got {type(content).__name__})")
    ids = tuple(item.get("id") if isinstance(item, dict) else None for item in content)
    return ids, document.get("totalElements"), document.get("totalPages")
