"""What an upstream can do to a run, and the bounds the HTTP client keeps it within.

The errors an upstream can cause; which origins a client may be led to (a next page, a redirect) and
which of them may receive the source's secret; how secrets in URLs are masked in everything shown; and
how many bytes a download, or a source's day, may take. `pipeline.resources.http` applies them to every
request; the names are re-exported there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamError(RuntimeError):
    """An upstream answered in a way the pipeline cannot use. The message says what, where and what next;
    `status` is the HTTP status of a refusal that is not worth retrying (a 404, say), else None."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CredentialsRefusedError(UpstreamError):
    """401/403: retrying cannot help, so the run fails at once."""


class InvalidBody(UpstreamError):
    """A 2xx whose body is unusable (not JSON, wrong shape); retried a bounded number of times."""


class OriginRefused(UpstreamError):
    """A next page or a redirect led to an origin the source may not go to; nothing was requested there."""


class TooLarge(UpstreamError):
    """A body, or a source's day, passed its byte limit; never retried, and nothing of it is kept."""


# Query parameters that carry a secret in the APIs we read, masked in every URL shown (lower case).
_SECRET_PARAMS = {"apikey", "api_key", "api-key", "key", "access_token", "subscription-key", "token"}
_SECRET_LOCK = threading.Lock()


def hide_query_param(name: str) -> None:
    """Mask the query parameter `name` (any case) in every URL `redact_url` shows from now on.

    For a parameter a configuration names to carry a secret (a feed's `query_param`); process-wide, so
    a URL logged by urllib3 or put in an error by any client is masked too. A redirect to another
    origin never carries it on (`without_secret_params`).
    """
    with _SECRET_LOCK:
        _SECRET_PARAMS.add(name.lower())


def _secret_names(hide: Iterable[str] = ()) -> set[str]:
    with _SECRET_LOCK:
        return _SECRET_PARAMS | {name.lower() for name in hide}


def _param_name(piece: str) -> str:
    return unquote_plus(piece.partition("=")[0]).lower()


def redact_url(url: str, *, hide: Iterable[str] = ()) -> str:
    """The URL safe for logs, errors and metadata: no `user:password@` part, and the value of every
    secret-bearing query parameter (`hide_query_param`, `hide`, and the usual names) shown as `***`."""
    parts = urlsplit(url)
    host = parts.netloc
    if parts.username is not None or parts.password is not None:
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    secret = _secret_names(hide)
    pieces = parts.query.split("&") if parts.query else []
    query = "&".join(
        f"{piece.partition('=')[0]}=***" if _param_name(piece) in secret else piece for piece in pieces
    )
    if host == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


def without_secret_params(url: str, *, carried_by: str) -> str:
    """`url` without the secret-bearing query parameters that `carried_by` (the URL that redirected to
    it) carries: a server that echoes its query into a Location cannot hand our secret to another origin.
    Parameters of `url`'s own (a CDN's signature) stay as they are."""
    carried = {_param_name(piece) for piece in urlsplit(carried_by).query.split("&") if piece}
    drop = carried & _secret_names()
    parts = urlsplit(url)
    pieces = [piece for piece in parts.query.split("&") if piece and _param_name(piece) not in drop]
    query = "&".join(pieces)
    if query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def origin_of(url: str) -> str:
    """`scheme://host:port` of `url`, scheme and host lower-cased and the default port written out
    (`https://char.gy:443`). ValueError for a URL without a host or with a bad port."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), parts.hostname
    if not scheme or not host:
        raise ValueError(f"{redact_url(url)!r} is not an absolute URL with a host")
    port = parts.port or DEFAULT_PORTS.get(scheme)
    if port is None:
        raise ValueError(f"{redact_url(url)!r} has no port and {scheme!r} has no default one")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def host_list(text: str) -> list[str]:
    """The hosts a setting such as ECONNECT_FOLLOW_HOSTS names, separated by commas or spaces."""
    return [host for host in text.replace(",", " ").split() if host]


def _host_entry(entry: str) -> str:
    """A `follow_hosts` entry as "host" or "host:port", lower-case; ValueError for anything else."""
    text = entry.strip().lower()
    parts = urlsplit(f"//{text}")
    try:
        port = parts.port
    except ValueError:
        port = None
        text = ""
    if not text or not parts.hostname or parts.path or parts.query or "@" in text or "/" in text:
        raise ValueError(f"{entry!r} is not a host or host:port (no scheme, no path)")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}" if port is not None else host


def _matches(url: str, hosts: frozenset[str]) -> bool:
    origin = origin_of(url)
    host_port = origin.partition("://")[2]
    return host_port in hosts or host_port.rpartition(":")[0] in hosts


@dataclass(frozen=True)
class Origins:
    """Where one source's client may be led, and where its secret may go.

    `home` is the origin of the configured URL. A next page or a redirect may go there, or to a host
    `follow_hosts` names ("host": any port; "host:port": that port), never from https to http. The
    secret (Basic auth, a token header, a token query parameter) goes to `home` only, or to a followed
    host that `secret_hosts` names too. `setting` names where the hosts are configured, for messages.
    """

    home: str
    follow_hosts: frozenset[str] = frozenset()
    secret_hosts: frozenset[str] = frozenset()
    setting: str = ""

    @classmethod
    def of(
        cls,
        url: str,
        *,
        follow_hosts: Iterable[str] = (),
        send_secret_to: Iterable[str] = (),
        setting: str = "",
    ) -> Origins:
        """The origins of a source configured with `url`; ValueError when a `send_secret_to` host is
        not in `follow_hosts` (a secret is never sent where the source may not go)."""
        follow = frozenset(_host_entry(host) for host in follow_hosts if host.strip())
        secret = frozenset(_host_entry(host) for host in send_secret_to if host.strip())
        if not secret <= follow:
            stray = ", ".join(sorted(secret - follow))
            raise ValueError(f"send_secret_to names {stray}, which follow_hosts does not: name it there too")
        return cls(home=origin_of(url), follow_hosts=follow, secret_hosts=secret, setting=setting)

    @property
    def is_https(self) -> bool:
        return self.home.startswith("https://")

    def allows(self, url: str) -> bool:
        """True when the client may request `url`: on `home`, or on a followed host (never https→http)."""
        try:
            origin = origin_of(url)
        except ValueError:
            return False
        scheme = origin.partition("://")[0]
        if scheme not in DEFAULT_PORTS or (self.is_https and scheme != "https"):
            return False
        return origin == self.home or _matches(url, self.follow_hosts)

    def check(self, url: str, *, what: str) -> None:
        """Raise `OriginRefused` unless `allows(url)`; call it before requesting `url`."""
        if self.allows(url):
            return
        try:
            origin = origin_of(url)
        except ValueError:
            origin = "no origin"
        shown = redact_url(url)
        if self.is_https and origin.startswith("http://"):
            raise OriginRefused(
                f"{what}: {shown} is plain http and {self.home} is https; a feed is never followed from "
                "https to http (the answer could be read or changed on the way); not requested."
            )
        named = self.setting or "the source's follow hosts"
        host = origin.partition("://")[2]
        raise OriginRefused(
            f"{what}: {shown} is on {origin}, not {self.home} (nor a host {named} names); not requested. "
            f"If {host} really serves this source, name it in {named}."
        )

    def may_send_secret(self, url: str) -> bool:
        """True when `url` may receive the secret: on `home`, or on an allowed host `secret_hosts` names."""
        try:
            if origin_of(url) == self.home:
                return True
        except ValueError:
            return False
        return self.allows(url) and _matches(url, self.secret_hosts)


def size(n: int) -> str:
    """`n` bytes for a person: "256 MiB", "1 GiB", "1.5 KiB", "12 bytes"."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.2f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"


def too_large(what: str, limit: int, setting: str, *, read: int) -> TooLarge:
    """The error for a download of `what` stopped after `read` bytes, past `limit` (set by `setting`)."""
    return TooLarge(
        f"{what} passed its limit of {limit} bytes ({size(limit)}, {setting}): stopped after {read} bytes "
        f"and kept nothing of it. If it is really that large, raise {setting}; otherwise the upstream is "
        "sending more than it should."
    )


class ByteBudget:
    """Bytes one source may download in one go (an OCPI feed's day, all pages and tariffs together; a
    registry download). Thread-safe; `HttpClient.download_json` stops a body that would pass what is
    `remaining`, and charges each complete download with `spend`."""

    def __init__(self, limit: int, *, setting: str, what: str) -> None:
        if limit < 0:
            raise ValueError(f"{setting} must be >= 0 bytes, got {limit}")
        self.limit = limit
        self.setting = setting
        self.what = what
        self._spent = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ByteBudget(limit={self.limit}, setting={self.setting!r}, what={self.what!r})"

    @property
    def spent(self) -> int:
        with self._lock:
            return self._spent

    @property
    def remaining(self) -> int:
        with self._lock:
            return max(0, self.limit - self._spent)

    def spend(self, n: int) -> None:
        """Charge `n` bytes; `TooLarge` when the total passes the limit (downloads running at once may
        each fit what was remaining and together not)."""
        with self._lock:
            self._spent += n
            spent = self._spent
        if spent > self.limit:
            raise too_large(self.what, self.limit, self.setting, read=spent)
