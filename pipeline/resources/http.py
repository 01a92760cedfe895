"""The one HTTP client both upstreams share: retries, timeouts, redaction and request metrics.

Paging strategies differ per source and live in each source's client; everything about *how* a single
request is made (and retried, and logged) lives here, so both sources fail and recover the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests
from dagster import Config
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class HttpSettings(Config):
    """Timeouts and retry policy for one upstream. Defaults are polite for a public API."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    max_retries: int = 5
    backoff_factor_s: float = 0.5
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 120.0


class UpstreamError(RuntimeError):
    """An upstream answered in a way the pipeline cannot use. The message says what, where and what next."""


class CredentialsRefusedError(UpstreamError):
    """401/403: retrying cannot help, so the run fails at once."""


def redact_url(url: str) -> str:
    """The URL without any `user:password@` part, safe for logs and error messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass
class RequestStats:
    """Totals a source reports as asset metadata."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, int]:
        return {
            "http_requests": self.requests,
            "http_retries": self.retries,
            "bytes_received": self.bytes_received,
        }


class HttpClient:
    """A `requests.Session` with urllib3 retries and (connect, read) timeouts on every request."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        auth: tuple[str, str] | None = None,
        refused_hint: str = "Check the credentials in the environment.",
        logger: logging.Logger | None = None,
    ) -> None:
        self._settings = settings
        self._refused_hint = refused_hint
        self._timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self._log = logger or logging.getLogger(__name__)
        self.stats = RequestStats()
        self.session = requests.Session()
        # Never let ~/.netrc or proxy variables inject credentials we did not ask for.
        self.session.trust_env = False
        self.session.auth = auth
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "ev-insight-pipeline"
        retry = Retry(
            total=settings.max_retries,
            connect=settings.max_retries,
            read=settings.max_retries,
            status=settings.max_retries,
            other=0,
            allowed_methods=frozenset({"GET", "HEAD"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=settings.backoff_factor_s,
            backoff_max=settings.backoff_max_s,
            backoff_jitter=settings.backoff_factor_s,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def get(
        self, url: str, *, params: dict[str, str | int] | None = None, stream: bool = False
    ) -> requests.Response:
        """GET with retries; raises `UpstreamError` naming the URL for anything but a 2xx."""
        safe_url = redact_url(url)
        try:
            response = self.session.get(url, params=params, timeout=self._timeout, stream=stream)
        except requests.RequestException as exc:
            raise UpstreamError(
                f"GET {safe_url} failed after {self._settings.max_retries} retries: {type(exc).__name__}. "
                "Check that the API URL is right and reachable, then re-run the partition."
            ) from None
        self.stats.requests += 1
        history = getattr(response.raw, "retries", None)
        if history is not None and history.history:
            self.stats.retries += len(history.history)
        self.stats.statuses[response.status_code] = self.stats.statuses.get(response.status_code, 0) + 1
        if response.status_code in (401, 403):
            response.close()
            raise CredentialsRefusedError(
                f"GET {redact_url(response.url)} was refused with HTTP {response.status_code}: the "
                f"credentials were not accepted. {self._refused_hint}"
            )
        if not response.ok:
            response.close()
            raise UpstreamError(
                f"GET {redact_url(response.url)} answered HTTP {response.status_code} {response.reason}"
                f" after {self._settings.max_retries} retries. Re-run the partition later; if it persists, "
                "check the upstream's status."
            )
        return response
