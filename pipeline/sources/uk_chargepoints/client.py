"""The National Chargepoint Registry client: one JSON document, streamed to disk as it downloads."""

from __future__ import annotations

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

    def http_client(self) -> HttpClient:
        return HttpClient(self.http, logger=get_dagster_logger())

    def download(self, target: Path, client: HttpClient | None = None) -> int:
        """Stream the registry into `target` (never whole in memory); return the bytes written.

        A retry starts the file again from the beginning, so `target` never mixes two attempts.
        """
        client = client or self.http_client()

        def read(response: requests.Response) -> int:
            written = 0
            with target.open("wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    if not written and not chunk.lstrip().startswith(b"{"):
                        raise InvalidBody(f"body is not a JSON document (starts {chunk[:60]!r})")
                    out.write(chunk)
                    written += len(chunk)
                    client.stats.bytes_received += len(chunk)
            return written

        return client.fetch(self.url, read, what="the registry download")
