"""The eConnect Masterdata API client: page through a business partner's charging stations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cached_property

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from pydantic_core import from_json

from pipeline.resources.http import HttpClient, HttpSettings, InvalidBody, UpstreamError


@dataclass(frozen=True)
class Page:
    """One page exactly as received, plus its parsed `content` list."""

    number: int
    body: bytes
    content: list[object]
    total_elements: int | None = None
    total_pages: int | None = None

    @cached_property
    def ids(self) -> tuple[object, ...]:
        """The station ids in page order: equal for a page served twice, cheap to compare."""
        return tuple(item.get("id") if isinstance(item, dict) else None for item in self.content)

    def fingerprint(self) -> str:
        """`totalElements` plus a hash of the content: changes when the fleet changes (page 0 suffices)."""
        digest = hashlib.sha256(json.dumps(self.content, sort_keys=True).encode()).hexdigest()
        return f"{self.total_elements}:{digest[:16]}"


class _RepeatGuard:
    """Fails when a page holds the same stations, in the same order, as a neighbour (a server that
    ignores `page`). Pages may arrive in any order. Ids, not whole records, are compared: re-serialising
    every record to hash it cost more CPU than the request itself."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._ids: dict[int, tuple[object, ...]] = {}

    def checked(self, page: Page) -> Page:
        if page.content:
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
    """Basic-auth client for `GET {base_url}/masterdata/cpos/{business_partner}/chargingstations`."""

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
        if not first.content:
            return
        next_number = 1
        if self.max_concurrency > 1 and first.total_pages and first.total_pages > 1:
            next_number = min(first.total_pages, self.max_pages + 1)
            yield from self._fetch_concurrently(client, url, range(1, next_number), guard)
        for number in range(next_number, self.max_pages + 1):
            page = guard.checked(self._fetch_page(client, url, number))
            yield page
            if not page.content:
                return
        raise UpstreamError(
            f"{url} still returned stations after {self.max_pages} pages; stopping. If the fleet really is "
            "that large, raise `max_pages` on the econnect resource."
        )

    def _fetch_concurrently(
        self, client: HttpClient, url: str, numbers: range, guard: _RepeatGuard
    ) -> Iterator[Page]:
        pool = ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="econnect-page")
        try:
            futures = [pool.submit(self._fetch_page, client, url, number) for number in numbers]
            for future in as_completed(futures):
                yield guard.checked(future.result())
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
        )

    def _fetch_page(self, client: HttpClient, url: str, number: int) -> Page:
        def read(response: requests.Response) -> Page:
            body = response.content
            client.stats.add(bytes_received=len(body))
            document = _page_document(body)
            total, pages = document.get("totalElements"), document.get("totalPages")
            return Page(
                number=number,
                body=body,
                content=document["content"],
                total_elements=total if isinstance(total, int) else None,
                total_pages=pages if isinstance(pages, int) else None,
            )

        return client.fetch(url, read, params={"page": number, "size": self.page_size}, what=f"page {number}")


def _page_document(body: bytes) -> dict:
    """A page body parsed; `InvalidBody` (retried) when it is not a page with a `content` list."""
    try:
        document = from_json(body)  # pydantic's Rust parser: a third faster than json.loads on a page
    except ValueError:
        raise InvalidBody(f"body is not valid JSON ({len(body)} bytes, starts {body[:60]!r})") from None
    content = document.get("content") if isinstance(document, dict) else None
    if not isinstance(content, list):
        raise InvalidBody(f"body has no `content` list (got {type(content).__name__})")
    return document
