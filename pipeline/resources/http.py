"""The one HTTP client both upstreams share: retries, timeouts, redaction and request metrics.

Paging strategies differ per source and live in each source's client; everything about *how* one
request is made, read, retried and logged lives here, so both sources fail and recover the same way.

A request and the reading of its body are retried together (tenacity), because the faults real APIs
show do not stop at the status line: a body cut off before its Content-Length, a 200 carrying an HTML
error page, a read that times out halfway. Retry-After is honoured as a minimum wait (so `0` does not
burn every attempt at once) and capped, so a hostile header cannot stall a run for hours.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, TypeVar
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import ijson
import requests
from dagster import Config
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from upath import UPath

from pipeline.resources.json_array import JsonArrayError, array_items

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
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


class UpstreamError(RuntimeError):
    """An upstream answered in a way the pipeline cannot use. The message says what, where and what next."""


class CredentialsRefusedError(UpstreamError):
    """401/403: retrying cannot help, so the run fails at once."""


class InvalidBody(UpstreamError):
    """A 2xx whose body is unusable (not JSON, wrong shape); retried a bounded number of times."""


class _Transient(Exception):
    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


# Query parameters that carry a secret in the APIs we read, masked in every URL shown (lower case).
_SECRET_PARAMS = {"apikey", "api_key", "api-key", "key", "access_token", "subscription-key", "token"}
_SECRET_LOCK = threading.Lock()


def hide_query_param(name: str) -> None:
    """Mask the query parameter `name` (any case) in every URL `redact_url` shows from now on.

    For a parameter a configuration names to carry a secret (a feed's `query_param`); process-wide, so
    a URL logged by urllib3 or put in an error by any client is masked too.
    """
    with _SECRET_LOCK:
        _SECRET_PARAMS.add(name.lower())


def redact_url(url: str, *, hide: Iterable[str] = ()) -> str:
    """The URL safe for logs, errors and metadata: no `user:password@` part, and the value of every
    secret-bearing query parameter (`hide_query_param`, `hide`, and the usual names) shown as `***`."""
    parts = urlsplit(url)
    host = parts.netloc
    if parts.username is not None or parts.password is not None:
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    with _SECRET_LOCK:
        secret = _SECRET_PARAMS | {name.lower() for name in hide}
    pieces = parts.query.split("&") if parts.query else []
    query = "&".join(
        f"{piece.partition('=')[0]}=***" if unquote_plus(piece.partition("=")[0]).lower() in secret else piece
        for piece in pieces
    )
    if host == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


class _RedactedRequestLine(logging.Filter):
    """urllib3 logs every request line, query included, at DEBUG: mask its secrets like `redact_url`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) and "?" in a else a for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactedRequestLine())


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


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


class RateLimiter:
    """At most `per_second` request starts per second across threads, evenly spaced.

    A dozen lines, so no dependency: spacing starts is all a polite client needs here.
    """

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Reserve the next slot; return how long the caller must sleep before using it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
            return slot - now


class Spacing:
    """One upstream's politeness: two requests never reach it closer than `interval_s` apart, across
    every client and thread sharing it, and none before a Retry-After has passed (`defer`).

    The next request may start `interval_s` after the previous one was *answered* (its status line came
    back: the latest the server can have seen it), not after it started: a request that leaves late (a
    new connection, a busy thread) would make the gap the server sees shorter than the one the client
    measured, which the benchmark saw at start-to-start spacing with a 10 ms margin. Nor after its body
    was read: a large page does not add its download time. Threads sharing it also start at least
    `interval_s` apart. Shared by several `HttpClient`s, it is one clock for one host, whatever the feed.
    """

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.interval_s = interval_s
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Spacing(interval_s={self.interval_s})"

    def wait_time(self) -> float:
        """Seconds until a request may start (0 when it may start now); reserves nothing."""
        with self._lock:
            return max(0.0, self._next - self._clock())

    def start(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep until a request may start, then take the slot (the next start is an interval later)."""
        while True:
            with self._lock:
                now = self._clock()
                wait = self._next - now
                if wait <= 0:
                    self._next = now + self.interval_s
                    return
            sleep(wait)

    def answered(self) -> None:
        """The request started last was answered (or failed): the next starts an interval from now."""
        with self._lock:
            self._next = max(self._next, self._clock() + self.interval_s)

    def defer(self, seconds: float) -> None:
        """No request starts before `seconds` from now (a Retry-After); never brings a start forward."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


class HttpClient:
    """A `requests.Session` with (connect, read) timeouts on every request and whole-exchange retries."""

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
    ) -> None:
        """`min_interval_s` spaces this client's own requests; `spacing` is a clock shared with other
        clients (one per host), used instead. Either way retries wait for it too, and a Retry-After
        answered to this client holds back every client sharing the clock."""
        if spacing is not None and min_interval_s > 0:
            raise ValueError("give min_interval_s or a shared spacing, not both")
        self._settings = settings
        self._refused_hint = refused_hint
        self._timeout = (settings.connect_timeout_s, settings.read_timeout_s)
        self._log = logger or logging.getLogger(__name__)
        self._sleep = sleep
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
        at once; other 4xx raise `UpstreamError` at once; transient faults are retried up to
        `max_attempts` and then raise `UpstreamError` naming `what` and the URL.
        """
        label = f"{what} of {redact_url(url)}" if what else f"GET {redact_url(url)}"
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=lambda state: self._before_sleep(state, label),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, read, params=params, headers=headers)
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
    ) -> Download:
        """Stream one JSON document into `target`, parsing it on the way; never whole in memory.

        A body that does not parse to its end (cut short without a Content-Length, HTML, two documents)
        is a transient fault like a body cut short before its Content-Length: retried, each attempt
        rewriting `target` from the start. The caller stores `target` only when this returns.

        `array` names the document's one big top-level array, when it has one (a registry export):
        the body is then checked with msgspec a chunk of elements at a time, ten times faster than
        token by token, and a document without that array is refused too.
        """

        def read(response: requests.Response) -> Download:
            with (
                target.open("wb") as out,
                _TeeBody(response.iter_content(CHUNK_BYTES), out, self.stats) as body,
            ):
                try:
                    if array is None:
                        for _ in ijson.items(body, "\x00never"):  # parse to the end, build nothing
                            pass
                    else:
                        for _ in array_items(body, array):
                            pass
                except (ijson.JSONError, JsonArrayError) as exc:
                    raise InvalidBody(_unparseable(body, exc)) from None
            return Download(bytes=body.bytes, headers=CaseInsensitiveDict(response.headers))

        return self.fetch(url, read, headers=headers, what=what)

    def _attempt(
        self,
        url: str,
        read: Callable[[requests.Response], T],
        *,
        params: dict[str, str | int] | None,
        headers: dict[str, str] | None,
    ) -> T:
        if self._limiter is not None:
            self._sleep(self._limiter.wait_time())
        if self._spacing is not None:
            self._spacing.start(self._sleep)
        return self._exchange(url, read, params=params, headers=headers)

    def _exchange(
        self,
        url: str,
        read: Callable[[requests.Response], T],
        *,
        params: dict[str, str | int] | None,
        headers: dict[str, str] | None,
    ) -> T:
        self.stats.add(requests=1)
        try:
            response = self.session.get(
                url, params=params, headers=headers, timeout=self._timeout, stream=True
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"{type(exc).__name__} before any answer") from None
        finally:
            if self._spacing is not None:
                self._spacing.answered()  # the server has seen the request by now, however late it left
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
                    "temporary fault; check the URL and the API's documentation."
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


@dataclass(frozen=True)
class Download:
    """A body streamed to disk: how many bytes, and the response headers (e.g. ETag)."""

    bytes: int
    headers: Mapping[str, str]


_BOM = b"\xef\xbb\xbf"


class _TeeBody:
    """A response body as a file for a parser to read, writing every byte it receives to `out`; a UTF-8
    BOM starting the body is written but not handed to the parser.

    The write of one chunk runs on a thread while the parser reads the next (file and socket writes
    release the GIL), and a chunk read whole is handed out without a copy.
    """

    def __init__(self, chunks: Iterator[bytes], out: IO[bytes], stats: RequestStats) -> None:
        self._chunks = chunks
        self._out = out
        self._stats = stats
        self._pending = memoryview(b"")
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="download-write")
        self._writing: Future[int] | None = None
        self.bytes = 0
        self.head = b""
        self.bom = False  # the body began with a UTF-8 byte order mark (RFC 8259 lets a parser skip it)

    def __enter__(self) -> _TeeBody:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Every byte handed out is written (a write error surfaces here) before `out` is closed."""
        try:
            if self._writing is not None:
                self._writing.result()
        finally:
            self._writer.shutdown(wait=True)

    def read(self, size: int = -1) -> bytes:
        """At most `size` bytes (ijson's C parser relies on it); b"" only at the end of the body."""
        if not self._pending:
            chunk = next((c for c in self._chunks if c), b"")
            if self._writing is not None:
                self._writing.result()  # one write in flight at most: memory stays at two chunks
            self._writing = self._writer.submit(self._out.write, chunk)
            first = self.bytes == 0
            self.bytes += len(chunk)
            self._stats.add(bytes_received=len(chunk))
            self.head = self.head or chunk[:60]
            if first and chunk.startswith(_BOM):  # stored as sent; the parser starts at the JSON
                self.bom, chunk = True, chunk[len(_BOM) :]
                if not chunk:  # the BOM came alone: b"" here would tell the parser the body ended
                    return self.read(size)
            if size < 0 or size >= len(chunk):
                return chunk
            self._pending = memoryview(chunk)
        size = len(self._pending) if size < 0 else size
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece.tobytes()


def _unparseable(body: _TeeBody, exc: Exception) -> str:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "premature EOF" in reason or "incomplete" in reason.lower() or "cut short" in reason:
        return (
            f"the body ended after {body.bytes} bytes before its JSON document was complete (the "
            "connection closed early)"
        )
    return f"the body is not one JSON document ({reason}; {body.bytes} bytes, starts {body.head!r})"
