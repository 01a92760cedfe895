"""The National Chargepoint Registry client: one JSON document, streamed to disk as it downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests
from dagster import ConfigurableResource, get_dagster_logger

from pipeline.resources.http import HttpClient, HttpSettings, InvalidBody

DEFAULT_API_URL = "https://chargepoints.dft.gov.uk/api/retrieve/registry/format/json"
CHUNK_BYTES = 1 << 20


class NcrApi(ConfigurableResource):
    """`GET {url}` → `{"Scheme": ..., "ChargeDevice": [...]}`. The registry needs no credentials."""

    url: str = DEFAULT_API_URL
    http: HttpSettings = HttpSettings()

    def http_client(self, *, polling: bool = False) -> HttpClient:
        settings = self.http.for_polling() if polling else self.http
        return HttpClient(settings, logger=get_dagster_logger())

    def download(self, target: Path, client: HttpClient | None = None) -> Download:
        """Stream the registry into `target` (never whole in memory).

        A retry starts the file again from the beginning, so `target` never mixes two attempts.
        """
        client = client or self.http_client()

        def read(response: requests.Response) -> Download:
            written = 0
            with target.open("wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    if not written and not chunk.lstrip().startswith(b"{"):
                        raise InvalidBody(f"body is not a JSON document (starts {chunk[:60]!r})")
                    out.write(chunk)
                    written += len(chunk)
                    client.stats.add(bytes_received=len(chunk))
            return Download(bytes=written, validators=_validators(response))

        return client.fetch(self.url, read, what="the registry download")

    def changed_since(self, validators: Mapping[str, str]) -> tuple[bool | None, dict[str, str]]:
        """Conditional GET: (True, new validators) if the registry changed, (False, ...) if not.

        None when the server sends no ETag/Last-Modified, so a change cannot be told without a download.
        A 200 is closed without reading the body, so polling costs one request and a few headers.
        """
        conditional = {}
        if "ETag" in validators:
            conditional["If-None-Match"] = validators["ETag"]
        if "Last-Modified" in validators:
            conditional["If-Modified-Since"] = validators["Last-Modified"]

        def read(response: requests.Response) -> tuple[bool | None, dict[str, str]]:
            current = _validators(response)
            if response.status_code == 304:
                return False, dict(validators)
            if not current:
                return None, {}
            return current != dict(validators), current

        client = self.http_client(polling=True)
        return client.fetch(self.url, read, headers=conditional, what="the registry change probe")


@dataclass(frozen=True)
class Download:
    bytes: int
    validators: dict[str, str]


def _validators(response: requests.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in ("ETag", "Last-Modified") if name in response.headers}
