"""The registry-format client: one JSON document, streamed to disk and parsed to its end as it arrives."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from upath import UPath

from pipeline.resources.http import Download, HttpClient, HttpSettings, Origins
from pipeline.sources.uk_registry.raw import DEVICES

MAX_BYTES = 8 << 30  # NCR_MAX_BYTES' default


class RegistryApi(ConfigurableResource):
    """`GET {url}` → `{"Scheme": ..., "ChargeDevice": [...]}`, from a mirror or an archived dump.

    Requests go to `url`'s origin only; a redirect elsewhere is refused before it is followed, unless
    `follow_hosts` names that host (a mirror handing the dump to a CDN). A document larger than
    `max_bytes` is stopped as soon as it passes it, and nothing of it is kept.
    """

    url: str = Field(description="Where the registry-format document is served (NCR_API_URL).")
    follow_hosts: list[str] = Field(
        default=[],
        description="NCR_FOLLOW_HOSTS: hosts ('host' or 'host:port') besides the URL's own that a redirect "
        "may lead to (a mirror handing the dump to a CDN); credentials in the URL never go there.",
    )
    max_bytes: int = Field(
        default=MAX_BYTES,
        gt=0,
        description="NCR_MAX_BYTES: the most one download may take, decoded (default 8 GiB; a real "
        "registry dump is a few GB).",
    )
    http: HttpSettings = HttpSettings()

    def http_client(self, *, polling: bool = False) -> HttpClient:
        settings = self.http.for_polling() if polling else self.http
        origins = Origins.of(self.url, follow_hosts=self.follow_hosts, setting="NCR_FOLLOW_HOSTS")
        return HttpClient(settings, logger=get_dagster_logger(), origins=origins)

    def download(self, target: Path | UPath, client: HttpClient | None = None) -> Download:
        """Stream the document into `target` (never whole in memory); it is complete when this returns.

        A body that does not parse to its end is retried from the beginning, so `target` never mixes
        two attempts or holds half a document; one passing `max_bytes` fails at once (`TooLarge`).
        """
        return (client or self.http_client()).download_json(
            self.url,
            target,
            what="the registry download",
            array=DEVICES,
            max_bytes=self.max_bytes,
            max_bytes_setting="NCR_MAX_BYTES",
        )

    def changed_since(self, validators: Mapping[str, str]) -> tuple[bool | None, dict[str, str]]:
        """Conditional GET: (True, new validators) if the document changed, (False, ...) if not.

        None when the server sends no ETag/Last-Modified, so a change cannot be told without a download.
        A 200 is closed without reading the body, so polling costs one request and a few headers.
        """
        conditional = {}
        if "ETag" in validators:
            conditional["If-None-Match"] = validators["ETag"]
        if "Last-Modified" in validators:
            conditional["If-Modified-Since"] = validators["Last-Modified"]

        def read(response: requests.Response) -> tuple[bool | None, dict[str, str]]:
            current = validators_of(response.headers)
            if response.status_code == 304:
                return False, dict(validators)
            if not current:
                return None, {}
            return current != dict(validators), current

        client = self.http_client(polling=True)
        return client.fetch(self.url, read, headers=conditional, what="the registry change probe")


def validators_of(headers: Mapping[str, str]) -> dict[str, str]:
    """The ETag and Last-Modified a conditional GET sends back."""
    return {name: headers[name] for name in ("ETag", "Last-Modified") if name in headers}
