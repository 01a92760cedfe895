"""The eConnect Masterdata API client: page through a business partner's charging stations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field

from pipeline.resources.http import POLL_SETTINGS_UPDATE, HttpClient, HttpSettings, InvalidBody, UpstreamError

DEFAULT_API_URL = "https://api.services-emobility.com"


@dataclass(frozen=True)
class Page:
    """One page exactly as received, plus its parsed `content` list."""

    number: int
    body: bytes
    content: list[object]
    total_elements: int | None = None

    def fingerprint(self) -> str:
        """`totalElements` plus a hash of the content: changes when the fleet changes (page 0 suffices)."""
        digest = hashlib.sha256(json.dumps(self.content, sort_keys=True).encode()).hexdigest()[:16]
        return f"{self.total_elements}:{digest}"


class EConnectApi(ConfigurableResource):
    """Basic-auth client for `GET {base_url}/masterdata/cpos/{business_partner}/chargingstations`."""

    base_url: str = DEFAULT_API_URL
    username: str
    password: str = Field(repr=False)
    business_partner: str
    page_size: int = 100
    max_pages: int = Field(
        default=100_000, description="Safety stop: fail rather than page forever if pages never run empty."
    )
    http: HttpSettings = HttpSettings()

    def stations_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/masterdata/cpos/{self.business_partner}/chargingstations"

    def iter_pages(self, client: HttpClient | None = None) -> Iterator[Page]:
        """Yield pages from 0 until the first page whose `content` is empty (that page is yielded too).

        `last`/`totalPages` are ignored on purpose: a server that under-reports them must not make us
        stop early. A page whose body repeats the previous one (a server ignoring `page`) fails instead of
        looping; so does running past `max_pages`.
        """
        client = client or self.http_client()
        url = self.stations_url()
        previous_digest = b""
        for number in range(self.max_pages + 1):
            page = self._fetch_page(client, url, number)
            digest = hashlib.sha256(json.dumps(page.content, sort_keys=True).encode()).digest()
            if page.content and digest == previous_digest:
                raise UpstreamError(
                    f"Page {number} of {url} repeats page {number - 1} exactly: the server seems to ignore "
                    "the `page` parameter. Stopping instead of looping; check the API version."
                )
            previous_digest = digest
            yield page
            if not page.content:
                return
        raise UpstreamError(
            f"{url} still returned stations after {self.max_pages} pages; stopping. If the fleet really is "
            "that large, raise `max_pages` on the econnect_api resource."
        )

    def fingerprint(self) -> str:
        """A cheap change detector for sensors: page 0's fingerprint (one request, quick retries)."""
        client = self.http_client(polling=True)
        return self._fetch_page(client, self.stations_url(), 0).fingerprint()

    def http_client(self, *, polling: bool = False) -> HttpClient:
        return HttpClient(
            self.http.model_copy(update=POLL_SETTINGS_UPDATE) if polling else self.http,
            auth=(self.username, self.password),
            refused_hint="Check ECONNECT_USERNAME, ECONNECT_PASSWORD and ECONNECT_BUSINESS_PARTNER.",
            logger=get_dagster_logger(),
        )

    def _fetch_page(self, client: HttpClient, url: str, number: int) -> Page:
        def read(response: requests.Response) -> Page:
            body = response.content
            client.stats.bytes_received += len(body)
            document = _page_document(body)
            total = document.get("totalElements")
            return Page(
                number=number,
                body=body,
                content=document["content"],
                total_elements=total if isinstance(total, int) else None,
            )

        return client.fetch(url, read, params={"page": number, "size": self.page_size}, what=f"page {number}")


def _page_document(body: bytes) -> dict:
    """A page body parsed; `InvalidBody` (retried) when it is not a page with a `content` list."""
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidBody(f"body is not valid JSON ({len(body)} bytes, starts {body[:60]!r})") from None
    content = document.get("content") if isinstance(document, dict) else None
    if not isinstance(content, list):
        raise InvalidBody(f"body has no `content` list (got {type(content).__name__})")
    return document
