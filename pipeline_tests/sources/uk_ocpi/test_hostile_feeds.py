"""A feed nobody controls, tried as an attacker or a broken server would (issue 19), on the wire: it cannot
lead the reader to another origin, hand its secret to one, or fill the disk. 127.0.0.1 and 127.0.0.2 are
two origins; the second one's request log shows what reached it."""

import re
from contextlib import ExitStack, contextmanager

import pytest
from upath import UPath

from pipeline.resources.http import HttpSettings, OriginRefused, TooLarge
from pipeline.resources.raw_zone import RawZone
from pipeline.resources.upstream import size
from pipeline.sandbox._origins import OTHER_HOST
from pipeline.sandbox.uk_ocpi import LOCATIONS_PATH as P
from pipeline.sandbox.uk_ocpi import Hostile, OcpiOperatorServer, make_locations
from pipeline.sources.plugin import SourceContext
from pipeline.sources.uk_ocpi.auth import feed_origins
from pipeline.sources.uk_ocpi.client import OcpiFeeds
from pipeline.sources.uk_ocpi.definitions import build
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.raw import read_locations

SETTINGS = HttpSettings(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, read_timeout_s=5)
DAY = "2025-06-01"
TOKEN = "tok-19-hostile-not-for-others"  # fake
TOKEN_ENV = "OCPI_HOSTILE_TOKEN"
MiB = 1 << 20
# (the fake's auth keywords, the feed list's): `Authorization: Token`, a header of its own, a query parameter
AUTH = {
    "token": ({}, {}),
    "header": ({"auth_header": "ec-subscription-key"}, {"header": "ec-subscription-key"}),
    "query_param": ({"auth_param": "apiKey"}, {"query_param": "apiKey"}),
}


@contextmanager
def two_origins(kind, *, from_page=1, count=25, style="ocpi_link", quirks=(), auth=None, mirror_auth=False):
    """The feed on 127.0.0.1 misbehaving as `kind`, and a mirror of it on 127.0.0.2 (asking for the token
    only when `mirror_auth`), both over the same `count` locations, 10 a page."""
    locations = make_locations("op", count, seed=19)
    server_auth = AUTH[auth][0] if auth else {}
    token = {"token": TOKEN, **server_auth} if auth else {}
    with ExitStack() as stack:
        mirror = OcpiOperatorServer(
            locations,
            style=style,
            page_size=10,
            quirks=quirks,
            host=OTHER_HOST,
            **(token if mirror_auth else {}),
        )
        stack.enter_context(mirror)
        hostile = Hostile(kind, from_page=from_page, elsewhere=mirror.base_url)
        server = OcpiOperatorServer(
            locations, style=style, page_size=10, quirks=quirks, hostile=hostile, **token
        )
        yield stack.enter_context(server), mirror, locations


def feed(server, *, auth=None, **extra):
    return Feed(
        operator="op",
        name="Op Ltd",
        url=server.url,
        **({"token_env": TOKEN_ENV, **AUTH[auth][1]} if auth else {}),
        **extra,
    )


def fetch(tmp_path, the_feed, **resource):
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    with zone.writing(DAY) as writer:
        result = OcpiFeeds(http=SETTINGS, **resource).fetch(the_feed, writer)
    return result, zone.snapshot(DAY)


def fails(tmp_path, the_feed, error, **resource):
    with pytest.raises(error) as caught:
        fetch(tmp_path, the_feed, **resource)
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    assert not zone.snapshot(DAY).complete
    assert [path for path in (tmp_path / DAY).rglob("*") if path.is_file()] == []  # nothing of it kept
    return str(caught.value)


def reached(server):
    """Everything of the requests that reached `server`: paths with their queries, and headers."""
    return repr(server.requests) + repr(server.seen_headers)


# --- Origins ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "quirks", "came_from"),
    [("ocpi_link", (), "a Link"), ("items_cursor", ("cursor_url",), "a body's `next` URL")],
)
def test_a_next_page_on_another_origin_fails_the_feed_and_nothing_is_asked_there(
    tmp_path, style, quirks, came_from
):
    with two_origins("link_elsewhere", style=style, quirks=quirks) as (server, mirror, _):
        message = fails(tmp_path, feed(server), OriginRefused)
        other = mirror.base_url.removeprefix("http://")
        assert re.fullmatch(
            rf"Feed op: the next page after page 0: {re.escape(mirror.url)}\?\S+ is on "
            rf"{re.escape(mirror.base_url)}, not {re.escape(server.base_url)} \(nor a host follow_hosts of "
            r"feed op in the feed list names\); "
            rf"not requested\. If {re.escape(other)} really serves this source, name it in follow_hosts of "
            r"feed op in the feed list\.",
            message,
        ), (came_from, message)
    assert mirror.requests == [] and [status for _, status in server.requests] == [200]


@pytest.mark.parametrize("from_page", [0, 1])
def test_a_redirect_to_another_origin_fails_the_feed_and_nothing_is_asked_there(tmp_path, from_page):
    with two_origins("redirect_elsewhere", from_page=from_page) as (server, mirror, _):
        message = fails(tmp_path, feed(server), OriginRefused)
        page = f"{P}?offset=10&limit=10" if from_page else P
        assert message == (
            f"feed op, page {from_page}, redirected by {server.base_url}{page}: {mirror.base_url}{page} "
            f"is on {mirror.base_url}, not {server.base_url} (nor a host follow_hosts of feed op in the feed "
            f"list names); not requested. If {mirror.base_url.removeprefix('http://')} really serves this "
            "source, name it in follow_hosts of feed op in the feed list."
        )
    assert mirror.requests == []
    assert server.requests == [(P, 200)] * from_page + [(page, 302)]  # not retried


@pytest.mark.parametrize("kind", ["link_elsewhere", "redirect_elsewhere"])
@pytest.mark.parametrize("auth", sorted(AUTH))
def test_a_follow_host_serves_the_next_pages_but_never_gets_the_secret(tmp_path, monkeypatch, kind, auth):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with two_origins(kind, auth=auth) as (server, mirror, locations):
        result, snapshot = fetch(tmp_path, feed(server, auth=auth, follow_hosts=[OTHER_HOST]))
    assert [location for _, location in read_locations(snapshot)] == locations
    assert (result.pages, result.records, result.ended) == (3, 25, "total reached")
    second, third = f"{P}?offset=10&limit=10", f"{P}?offset=20&limit=10"
    assert [path for path, _ in mirror.requests] == [second, third]  # the query secret dropped on the way
    assert TOKEN not in reached(mirror)
    first = f"{P}?apiKey={TOKEN}" if auth == "query_param" else P
    redirected = [(f"{second}&apiKey={TOKEN}" if auth == "query_param" else second, 302)]
    assert server.requests == [(first, 200)] + (redirected if kind == "redirect_elsewhere" else [])
    sent = {"token": ("authorization", f"Token {TOKEN}"), "header": ("ec-subscription-key", TOKEN)}
    if auth in sent:
        name, value = sent[auth]
        assert [headers.get(name) for headers in server.seen_headers] == [value] * len(server.requests)


@pytest.mark.parametrize("kind", ["link_elsewhere", "redirect_elsewhere"])
@pytest.mark.parametrize("auth", sorted(AUTH))
def test_send_secret_to_gives_a_follow_host_the_secret_too(tmp_path, monkeypatch, kind, auth):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with two_origins(kind, auth=auth, mirror_auth=True) as (server, mirror, locations):
        the_feed = feed(server, auth=auth, follow_hosts=[OTHER_HOST], send_secret_to=[OTHER_HOST])
        result, snapshot = fetch(tmp_path, the_feed)
    assert [status for _, status in mirror.requests] == [200, 200]  # it asks for the token, and got it
    assert [location for _, location in read_locations(snapshot)] == locations and result.records == 25


def test_an_https_feed_is_never_followed_to_http_whatever_follow_hosts_says():
    origins = feed_origins(
        Feed(operator="op", name="Op", url="https://feed.test/l", follow_hosts=["feed.test", "cdn.test"])
    )
    assert origins.allows("https://feed.test/l?offset=10") and origins.allows("https://cdn.test:8443/l")
    assert not origins.allows("http://feed.test/l?offset=10") and not origins.allows("http://cdn.test/l")
    with pytest.raises(OriginRefused) as refused:
        origins.check("http://feed.test/l?offset=10", what="Feed op: the next page after page 0")
    assert str(refused.value) == (
        "Feed op: the next page after page 0: http://feed.test/l?offset=10 is plain http and "
        "https://feed.test:443 is https; a feed is never followed from https to http (the answer could be "
        "read or changed on the way); not requested."
    )


def test_the_secret_goes_to_the_feeds_own_origin_and_to_send_secret_to_only():
    origins = feed_origins(
        Feed(
            operator="op",
            name="Op",
            url="https://feed.test/l",
            token_env="K",
            follow_hosts=["cdn.test", "keys.test:8443"],
            send_secret_to=["keys.test:8443"],
        )
    )
    assert origins.may_send_secret("https://FEED.test:443/other")
    assert origins.may_send_secret("https://keys.test:8443/l")
    assert not origins.may_send_secret("https://keys.test/l")  # another port
    assert not origins.may_send_secret("https://cdn.test/l") and not origins.may_send_secret(
        "https://x.test/"
    )
    assert origins.setting == "follow_hosts of feed op in the feed list"


# --- Size limits --------------------------------------------------------------------------------------------


def stopped_after(message):
    return int(re.search(r"stopped after (\d+) bytes", message).group(1))


def test_a_page_that_never_ends_stops_just_past_the_page_limit_and_nothing_is_stored(tmp_path):
    with two_origins("endless_page") as (server, mirror, _):
        message, url = fails(tmp_path, feed(server), TooLarge, max_page_bytes=MiB), server.url
    read = stopped_after(message)
    assert MiB < read <= 2 * MiB  # at most one chunk past the limit
    assert message == (
        f"feed op, page 1 of {url}?offset=10&limit=10 passed its limit of 1048576 bytes (1 MiB, "
        f"UK_OCPI_MAX_PAGE_BYTES): stopped after {read} bytes and kept nothing of it. If it is really that "
        "large, raise UK_OCPI_MAX_PAGE_BYTES; otherwise the upstream is sending more than it should."
    )
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200)]  # never retried
    assert mirror.requests == []


def test_a_gzip_bomb_is_limited_by_what_it_expands_to(tmp_path):
    with two_origins("gzip_bomb", from_page=0) as (server, _, _):
        message, url = fails(tmp_path, feed(server), TooLarge, max_page_bytes=MiB), server.url
    assert MiB < stopped_after(message) <= 2 * MiB  # of the 64 MiB it expands to (64 KiB on the wire)
    assert message.startswith(f"feed op, page 0 of {url} passed its limit of 1048576 bytes (1 MiB, ")
    assert server.requests == [(P, 200)]


def page_sizes(tmp_path):
    """The sizes of the pages of the 25-location feed the limit tests read, 10 a page, read unlimited."""
    with OcpiOperatorServer(make_locations("op", 25, seed=19), page_size=10) as server:
        _, snapshot = fetch(tmp_path / "sizes", feed(server))
    return [len(snapshot.read_bytes(name)) for name in snapshot.names]


@pytest.mark.parametrize(("slack", "passes"), [(0, True), (-1, False)])
def test_a_page_exactly_at_the_page_limit_is_read_and_one_byte_more_fails(tmp_path, slack, passes):
    sizes = page_sizes(tmp_path)
    limit = max(sizes) + slack
    with OcpiOperatorServer(make_locations("op", 25, seed=19), page_size=10) as server:
        if passes:
            result, _ = fetch(tmp_path, feed(server), max_page_bytes=limit)
            assert (result.pages, result.records) == (3, 25)
            return
        message, url = fails(tmp_path, feed(server), TooLarge, max_page_bytes=limit), server.url
    big = sizes.index(max(sizes))
    assert message.startswith(f"feed op, page {big} of {url}")
    assert f"passed its limit of {limit} bytes (" in message and "UK_OCPI_MAX_PAGE_BYTES):" in message
    assert stopped_after(message) == max(sizes)


@pytest.mark.parametrize(("slack", "passes"), [(0, True), (-1, False)])
def test_a_feeds_day_exactly_at_its_limit_is_read_and_one_byte_more_fails(tmp_path, slack, passes):
    sizes = page_sizes(tmp_path)
    limit = sum(sizes) + slack
    with OcpiOperatorServer(make_locations("op", 25, seed=19), page_size=10) as server:
        if passes:
            result, _ = fetch(tmp_path, feed(server), max_bytes=limit)
            assert (result.pages, result.records, result.bytes) == (3, 25, limit)
            return
        message, url = fails(tmp_path, feed(server), TooLarge, max_bytes=limit), server.url
    assert message == (
        f"feed op, page 2 of {url}?offset=20&limit=10: the day's download of feed op passed its "
        f"limit of {limit} bytes ({size(limit)}, UK_OCPI_MAX_BYTES): stopped after {sum(sizes)} bytes and "
        "kept nothing of it. If it is really that large, raise UK_OCPI_MAX_BYTES; otherwise the upstream is "
        "sending more than it should."
    )
    assert len(server.requests) == 3


def test_the_limits_default_to_1_gib_a_day_and_256_mib_a_page_and_are_read_from_the_environment():
    assert (OcpiFeeds().max_bytes, OcpiFeeds().max_page_bytes) == (1 << 30, 256 << 20)
    environ = {"UK_OCPI_MAX_BYTES": "5000000", "UK_OCPI_MAX_PAGE_BYTES": " 70000 "}
    resource = build(SourceContext(environ)).resources["uk_ocpi"]
    assert (resource.max_bytes, resource.max_page_bytes) == (5_000_000, 70_000)
    resource = build(SourceContext({})).resources["uk_ocpi"]
    assert (resource.max_bytes, resource.max_page_bytes) == (1 << 30, 256 << 20)
