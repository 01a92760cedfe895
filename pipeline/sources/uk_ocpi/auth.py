"""Where a feed's requests may go, and what each one carries: the feed's origins and its secret.

A feed is read on the origin (scheme, host, port) of its own URL, and on the hosts its entry lists under
`follow_hosts`; a next page (a `Link`, a body's `next`) or a redirect anywhere else fails the feed before
anything is asked there, and an `https` feed is never followed to `http`. The secret of `token_env` goes
only to the feed URL's own origin, or to a host `send_secret_to` names: as `Authorization: Token <value>`,
as is in the feed's `header`, or as its `query_param`, which a URL toward any other host never carries
(a value a Link echoes there is removed). The shared HTTP client keeps the same rule on redirects.
"""

from __future__ import annotations

import os
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from pipeline.resources.http import Origins, UpstreamError
from pipeline.sources.uk_ocpi.feeds import Feed


class FeedError(UpstreamError):
    """One feed could not be read; the message names the feed and what to do."""


def feed_origins(feed: Feed) -> Origins:
    """The origins `feed` may be read on, and those that may get its secret."""
    return Origins.of(
        feed.url,
        follow_hosts=feed.follow_hosts,
        send_secret_to=feed.send_secret_to,
        setting=f"follow_hosts of feed {feed.operator} in the feed list",
    )


class FeedAccess:
    """One feed's origins and secret: which URLs may be asked, and what a request to each carries.

    Reading the secret from the environment fails at once (`FeedError`, naming the variable) when it is
    unset or blank, so a feed needing one is never asked without it. Its value is never shown.
    """

    def __init__(self, feed: Feed) -> None:
        self.origins = feed_origins(feed)
        self._headers, self._param = _secret(feed)
        self.secret_headers = (feed.header or "Authorization",)  # never sent where the secret may not go

    def __repr__(self) -> str:
        return f"FeedAccess(origins={self.origins!r})"

    def url(self, url: str) -> str:
        """`url` as asked: with the secret parameter where it may go (replacing any value it had), and
        without it anywhere else."""
        if self._param is None:
            return url
        name, token = self._param
        return with_param(url, name, token) if self.origins.may_send_secret(url) else without_param(url, name)

    def headers(self, url: str) -> dict[str, str] | None:
        """The secret's header for `url`, when the secret goes in a header and may go there."""
        return dict(self._headers) if self._headers and self.origins.may_send_secret(url) else None


def _secret(feed: Feed) -> tuple[dict[str, str] | None, tuple[str, str] | None]:
    """(the header to send, or the query parameter and its value): the feed's secret, as it asks for it."""
    if not feed.token_env:
        return None, None
    token = os.environ.get(feed.token_env, "").strip()  # a secret file's trailing newline is not the token
    if not token:
        raise FeedError(
            f"Feed {feed.operator} needs a token: set {feed.token_env} in the environment (see the feed list "
            "for how to obtain one)."
        )
    if feed.query_param:
        return None, (feed.query_param, token)
    return {feed.header or "Authorization": token if feed.header else f"Token {token}"}, None


def with_param(url: str, name: str, value: str) -> str:
    """`url` with `name=value` last, replacing any value it had (a Link may echo a stale one)."""
    parts = urlsplit(url)
    query = "&".join([*_others(parts.query, name), f"{quote(name, safe='')}={quote(value, safe='')}"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def without_param(url: str, name: str) -> str:
    """`url` without the query parameter `name`, its other parameters as they were."""
    parts = urlsplit(url)
    query = "&".join(_others(parts.query, name))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _others(query: str, name: str) -> list[str]:
    return [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) != name]


def refused_hint(feed: Feed) -> str:
    """What to do when the feed answers 401 or 403."""
    if feed.token_env:
        sent = (
            f" (sent in the {feed.header} header)"
            if feed.header
            else f" (sent as the {feed.query_param} query parameter)"
            if feed.query_param
            else ""
        )
        return f"Feed {feed.operator} did not accept the token in {feed.token_env}{sent}; check or renew it."
    return (
        f"Feed {feed.operator} refused an anonymous request; if it answered a burst of requests, raise its "
        "min_interval_s in the feed list, else it may now need a token (token_env)."
    )
