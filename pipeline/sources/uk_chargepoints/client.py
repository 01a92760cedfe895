"""The National Chargepoint Registry client: one JSON document, streamed to disk as it downloads."""

from __future__ import annotations

from pathlib import Path

import requests
from dagster import ConfigurableResource, get_dagster_logger

from pipeline.resources.http import HttpClient, HttpSettings, UpstreamError, redact_url

DEFAULT_API_URL = "https://chargepoints.dft.gov.uk/api/retrieve/registry/format/json"
CHUNK_BYTES = 1 << 20


class NcrApi(ConfigurableResource):
    """`GET {url}` → `{"Scheme": ..., "ChargeDevice": [...]}`. The registry needs no credentials."""

    url: str = DEFAULT_API_URL
    http: HttpSettings = HttpSettings()

    def http_client(self) -> HttpClient:
        return HttpClient(self.http, logger=get_dagster_logger())

    def download(self, target: Path, client: HttpClient | None = None) -> int:
        """Stream the registry into `target` (never whole in memory); return the bytes written."""
        client = client or self.http_client()
        response = client.get(self.url, stream=True)
        written = 0
        try:
            with target.open("wb") as out:
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
                    written += len(chunk)
        except requests.RequestException as exc:
            raise UpstreamError(
                f"The download of {redact_url(self.url)} broke off after {written} bytes "
                f"({type(exc).__name__}). Re-run the partition; nothing was replaced."
            ) from None
        finally:
            response.close()
            client.stats.bytes_received += written
        return written
