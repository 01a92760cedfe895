"""The one HTTP client every upstream shares: retries, timeouts, redirects kept to their origins, byte
limits, redaction and request metrics.

Paging strategies differ per source and live in each source's client; everything about *how* one
request is made, read, retried and logged lives here, so every source fails and recovers the same way.

A request and the reading of its body are retried together (tenacity), because the faults real APIs
show do not stop at the status line: a body cut off before its Content-Length, a 200 carrying an HTML
error page, a read that times out halfway. Retry-After is honoured as a minimum wait (so `0` does not
burn every attempt at once) and capped, so a hostile header cannot stall a run for hours.

Redirects are followed here, not by requests: each hop is checked against the source's `Origins`
before it is requested, and the source's secret (Basic auth, the headers named secret, a hidden query
parameter) goes only where `Origins.may_send_secret` says. requests itself would strip Authorization
on a host change but send every other header on, and follow any redirect to any address.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin

import ijson
import requests
from dagster import Config
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from upath import UPath

from pipeline.resources.body import Download as Download
from pipeline.resources.body import TeeBody, unparseable
from pipeline.resources.json_array import JsonArrayError, array_items
from pipeline.resources.pacing import RateLimiter as RateLimiter
from pipeline.resources.pacing import Spacing as Spacing
from pipeline.resources.pacing import parse_retry_after as parse_retry_after
from pipeline.resources.upstream import ByteBudget as ByteBudget
from pipeline.resources.upstream import CredentialsRefusedError as CredentialsRefusedError
from pipeline.resources.upstream import InvalidBody as InvalidBody
from pipeline.resources.upstream import OriginRefused as OriginRefused
from pipeline.resources.upstream import Origins as Origins
from pipeline.resources.upstream import TooLarge as TooLarge
from pipeline.resources.upstream import UpstreamError as UpstreamError
from pipeline.resources.upstream import hide_query_param as hide_query_param
from pipeline.resources.upstream import origin_of as origin_of
from pipeline.resources.upstream import redact_url as redact_url
from pipeline.resources.upstream import too_large, without_secret_params

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
CHUNK_BYTES = 1 << 20
T = TypeVar("T")


class HttpSettings(Config):
    """Timeouts and retry policy for one upstream. Defaults are polite for a public API."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0
    max_attempts: int = 6
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 120.0

    def for_polling(self) -> HttpSettings:
        """Few, short attempts: a sensor tick must finish well inside Dagster's evaluation timeout."""
        return self.model_copy(
            update={"max_attempts": 2, "backoff_max_s": 5.0, "retry_after_max_s": 5.0, "read_timeout_s": 30.0}
        )


class _Transient(Exception):
    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class _RedactedRequestLine(logging.Filter):
    """urllib3 logs every request line, query included, at DEBUG: mask its secrets like `redact_url`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) and "?" in a else a for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactedRequestLine())


class _NoAuth(AuthBase):
    """Given per request, it overrides `session.auth`: that request carries no credentials."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_NO_AUTH = _NoAuth()


def _label(url: str, what: str) -> str:
    """What a request is for and where it goes, for logs and errors: "the registry download of URL"."""
    return f"{what} of {redact_url(url)}" if what else f"GET {redact_url(url)}"


@dataclass
class RequestStats:
    """Totals a source reports as asset metadata; safe to update from several threads."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, retries: int = 0, bytes_received: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.bytes_received += bytes_received

    def as_metadata(self) -> dict[str, int]:
        return {
            "http_requests": self.requests,
            "http_retries": self.retries,
            "bytes_received": self.bytes_received,
        }


class HttpClient:
    """A `requests.Session` with (connect, read) timeouts on every request, whole-exchange retries, and
    redirects followed only where `origins` allows, the secret only where it may go."""

    def __init__(
        self,
        settings: HttpSettings,
        *,
        auth: tuple[str, str] | None = None,
        refused_hint: str = "The credentials were not accepted: check them in the environment.",
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_rps: float | None = None,
        min_interval_s: float = 0.0,
        spacing: Spacing | None = None,
        pool_size: int = 10,
        origins: Origins | None = None,
        secret_headers: Iterable[str] = ("authorization",),
    ) -> None:
        """`min_interval_s` spaces this client's own requests; `spacing` is a clock shared with other
        clients (one per host), used instead. Either way retries wait for it too, and a Retry-After
        answered to this client holds back every client sharing the clock.

        `origins`: every URL requested (the first, a next page, each redirect hop) is checked against it
        first (`OriginRefused`, nothing requested). `session.auth` and the headers `secret_headers` names
        (any case) go only where `origins.may_send_secret`; without `origins`, only to the origin of the
        URL a `fetch` was given, while redirects are followed anywhere.
        """
        if spacing is not None and min_interval_s > 0:
            raise ValueError("give min_interval_s or a shared spacing, not both")
        self._settings = settings
        self._refused_hint = refused_hint
        self._timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self._log = logger or logging.getLogger(__name__)
        self._sleep = sleep
        self._origins = origins
        self._secret_headers = tuple(name.lower() for name in secret_headers)
        self.stats = RequestStats()
        self.session = requests.Session()
        # Never let ~/.netrc or proxy variables inject credentials we did not ask for.
        self.session.trust_env = False
        self.session.auth = auth
        self.session.headers.update({"Accept": "application/json", "User-Agent": "ev-insight-pipeline"})
        # One connection per concurrent request, reused across pages (retries are ours, not urllib3's).
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._limiter = RateLimiter(max_rps) if max_rps else None
        self._spacing = spacing or (Spacing(min_interval_s) if min_interval_s > 0 else None)

    def fetch(
        self,
        url: str,
        read: Callable[[requests.Response], T],
        *,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
        what: str = "",
    ) -> T:
        """GET `url` and return `read(response)`; the request and the read are retried together.

        `read` may raise `InvalidBody` for a body it cannot use. 401/403 raise `CredentialsRefusedError`
        at once; other 4xx raise `UpstreamError` at once; a URL or redirect `origins` does not allow
        raises `OriginRefused` before it is requested; transient faults are retried up to `max_attempts`
        and then raise `UpstreamError` naming `what` and the URL.
        """
        label = _label(url, what)
        if self._origins is not None:
            self._origins.check(url, what=what or "GET")
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda state: self._before_sleep(state, label),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, read, params=params, headers=headers, what=what or "GET")
        except _Transient as last:
            raise UpstreamError(
                f"{label} failed {self._settings.max_attempts} times; last: {last.reason}. The upstream "
                "may be down or throttling; re-run the partition later (nothing was replaced)."
            ) from None

    def download_json(
        self,
        url: str,
        target: Path | UPath,
        *,
        headers: dict[str, str] | None = None,
        what: str = "",
        array: str | None = None,
        max_bytes: int | None = None,
        max_bytes_setting: str = "",
        budget: ByteBudget | None = None,
    ) -> Download:
        """Stream one JSON document into `target`, parsing it on the way; never whole in memory.

        A body that does not parse to its end (cut short without a Content-Length, HTML, two documents)
        is a transient fault like a body cut short before its Content-Length: retried, each attempt
        rewriting `target` from the start. The caller stores `target` only when this returns.

        `array` names the document's one big top-level array, when it has one (a registry export):
        the body is then checked with msgspec a chunk of elements at a time, ten times faster than
        token by token, and a document without that array is refused too.

        A body passing `max_bytes` (set by `max_bytes_setting`) or what `budget` has left, counted as
        decoded (a gzip body by what it expands to), stops being read at once: `TooLarge`, not retried,
        and `target` is removed. A complete body is charged to `budget` (its last attempt only).
        """
        label = _label(url, what)

        def over(read: int) -> Exception:
            if budget is not None and (max_bytes is None or budget.remaining < max_bytes):
                spent = budget.spent
                return too_large(f"{label}: {budget.what}", budget.limit, budget.setting, read=spent + read)
            return too_large(label, max_bytes or 0, max_bytes_setting or "max_bytes", read=read)

        def read(response: requests.Response) -> Download:
            limits = [n for n in (max_bytes, budget.remaining if budget else None) if n is not None]
            chunks = response.iter_content(CHUNK_BYTES)
            limit = min(limits) if limits else None
            with target.open("wb") as out, TeeBody(chunks, out, self.stats, limit=limit, over=over) as body:
                try:
                    if array is None:
                        for _ in ijson.items(body, "\x00never"):  # parse to the end, build nothing
                            pass
                    else:
                        for _ in array_items(body, array):
                            pass
                except (ijson.JSONError, JsonArrayError) as exc:
                    raise InvalidBody(unparseable(body, exc)) from None
            return Download(bytes=body.bytes, headers=CaseInsensitiveDict(response.headers), url=response.url)

        try:
            download = self.fetch(url, read, headers=headers, what=what)
            if budget is not None:
                budget.spend(download.bytes)
        except TooLarge:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            raise
        return download

    def _attempt(
        self,
        url: str,
        read: Callable[[requests.Response], T],
        *,
        params: dict[str, str | int] | None,
        headers: dict[str, str] | None,
        what: str,
    ) -> T:
        if self._limiter is not None:
            self._sleep(self._limiter.wait_time())
        if self._spacing is not None:
            self._spacing.start(self._sleep)
        response = self._follow(url, params=params, headers=headers, what=what)
        with response:
            status = response.status_code
            if status in (401, 403):
                raise CredentialsRefusedError(
                    f"GET {redact_url(response.url)} was refused with HTTP {status}. {self._refused_hint}"
                )
            if status in RETRY_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and self._spacing is not None:
                    # Every client sharing the clock waits it out, not only this one's retry.
                    self._spacing.defer(min(retry_after, self._settings.retry_after_max_s))
                raise _Transient(f"HTTP {status} {response.reason}", retry_after_s=retry_after)
            if not response.ok:
                raise UpstreamError(
                    f"GET {redact_url(response.url)} answered HTTP {status} {response.reason}. This is not a "
                    "temporary fault; check the URL and the API's documentation.",
                    status=status,
                )
            try:
                return read(response)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                detail = str(exc.args[0] if exc.args else exc)[:200]
                raise _Transient(f"body broke off ({type(exc).__name__}: {detail})") from None
            except InvalidBody as exc:
                raise _Transient(str(exc)) from None

    def _follow(
        self, url: str, *, params: dict[str, str | int] | None, headers: dict[str, str] | None, what: str
    ) -> requests.Response:
        """The answer to GET `url` after its redirects, each hop checked against `origins` before it is
        requested; a hop to an origin that may not have the secret goes without it."""
        origins = self._origins or Origins.of(url)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(
                current, params=params, headers=headers, secret=origins.may_send_secret(current)
            )
            if response.status_code not in REDIRECT_STATUSES:
                return response
            response.close()
            location = response.headers.get("Location")
            came_from = redact_url(response.url)
            if not location:
                raise UpstreamError(
                    f"{what}: {came_from} answered HTTP {response.status_code} without a Location to go "
                    "to. This is not a temporary fault; check the URL."
                )
            current, params = urljoin(response.url, location), None
            if not origins.may_send_secret(current):
                current = without_secret_params(current, carried_by=response.url)
            if self._origins is not None:
                self._origins.check(current, what=f"{what}, redirected by {came_from}")
        raise UpstreamError(
            f"{what}: {redact_url(url)} redirected more than {MAX_REDIRECTS} times (last to "
            f"{redact_url(current)}); stopping. Check the URL."
        )

    def _send(
        self, url: str, *, params: dict[str, str | int] | None, headers: dict[str, str] | None, secret: bool
    ) -> requests.Response:
        """One GET, without following a redirect; without the secret unless `secret`."""
        sent: CaseInsensitiveDict[str | None] = CaseInsensitiveDict(headers or {})
        if not secret:
            for name in self._secret_headers:
                sent[name] = None  # drops it from the session's headers too
        self.stats.add(requests=1)
        try:
            return self.session.get(
                url,
                params=params,
                headers=sent,
                auth=None if secret else _NO_AUTH,
                timeout=self._timeout,
                stream=True,
                allow_redirects=False,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"{type(exc).__name__} before any answer") from None
        finally:
            if self._spacing is not None:
                self._spacing.answered()  # the server has seen the request by now, however late it left

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter; Retry-After raises it (never lowers it), within its cap."""
        attempt = state.attempt_number
        backoff = min(self._settings.backoff_max_s, self._settings.backoff_initial_s * 2 ** (attempt - 1))
        wait = backoff * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography  # nosec B311
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after_s is not None:
            wait = max(wait, min(error.retry_after_s, self._settings.retry_after_max_s))
        return wait

    def _before_sleep(self, state: RetryCallState, label: str) -> None:
        self.stats.add(retries=1)
        error = state.outcome.exception() if state.outcome else None
        reason = error.reason if isinstance(error, _Transient) else repr(error)
        wait = state.next_action.sleep if state.next_action else 0.0
        retry = f"{state.attempt_number}/{self._settings.max_attempts - 1}"
        self._log.warning(f"{label}: {reason}; retry {retry} in {wait:.2f}s")
