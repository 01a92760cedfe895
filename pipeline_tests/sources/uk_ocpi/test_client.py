"""Reading one OCPI feed against the fakes on the wire: every wire style, auth, politeness and failures."""

import json
import logging
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from upath import UPath

from pipeline.resources.http import CredentialsRefusedError, HttpSettings, UpstreamError
from pipeline.resources.raw_zone import RawZone
from pipeline.sandbox._http import Upstream, json_reply
from pipeline.sandbox.faults import Fault
from pipeline.sandbox.uk_ocpi import LOCATIONS_PATH as P
from pipeline.sandbox.uk_ocpi import OcpiOperatorServer, make_locations
from pipeline.sources.uk_ocpi.client import FeedError, FeedFetch, OcpiFeeds
from pipeline.sources.uk_ocpi.feeds import Feed
from pipeline.sources.uk_ocpi.raw import read_locations

SETTINGS = HttpSettings(
    max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, retry_after_max_s=0.02, read_timeout_s=5
)
DAY = "2025-06-01"
TOKEN = "tok-7f3a9c-not-for-logs"  # fake
TOKEN_ENV = "OCPI_TEST_TOKEN"


class Recording(OcpiOperatorServer):
    """The fake operator, also keeping each body it sent, each Authorization header and arrival time."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent, self.auth, self.arrivals = [], [], []

    def respond(self, path, headers):
        self.arrivals.append(time.monotonic())
        self.auth.append(headers.get("Authorization"))
        reply = super().respond(path, headers)
        self.sent.append(reply.body)
        return reply


class Overcounting(Recording):
    """Claims five more locations in `X-Total-Count` than it has, so paging ends on an empty page."""

    def _reply(self, offset, size, kept, kind):
        reply = super()._reply(offset, size, kept, kind)
        reply.headers["X-Total-Count"] = str(int(reply.headers["X-Total-Count"]) + 5)
        return reply


class Endless(Upstream):
    """Two locations a page, forever, with a `Link` to the next; `ignore_offset`: the same two, no Link."""

    def __init__(self, *, ignore_offset=False):
        super().__init__()
        self.ignore_offset = ignore_offset

    def respond(self, path, headers):
        offset = 0 if self.ignore_offset else int(dict(parse_qsl(urlsplit(path).query)).get("offset", "0"))
        stamp = f"2025-06-01T00:00:{len(self.requests):02d}Z"  # differs on every answer
        body = {"data": [{"id": f"L{offset + i}"} for i in range(2)], "status_code": 1000, "timestamp": stamp}
        link = {"Link": f'<{self.base_url}{P}?offset={offset + 2}>; rel="next"'}
        return json_reply(200, body, headers={"X-Total-Count": "1000"} if self.ignore_offset else link)


def feed(server, query="", **extra):
    return Feed(operator="op", name="Op Ltd", url=f"{server.base_url}{P}{query}", **extra)


def fetch(tmp_path, the_feed, **resource):
    zone = RawZone(UPath(tmp_path), "uk_ocpi")
    with zone.writing(DAY) as writer:
        result = OcpiFeeds(http=SETTINGS, **resource).fetch(the_feed, writer)
    return result, zone.snapshot(DAY)


def fails(tmp_path, the_feed, error=UpstreamError, **resource):
    with pytest.raises(error) as caught:
        fetch(tmp_path, the_feed, **resource)
    assert not RawZone(UPath(tmp_path), "uk_ocpi").snapshot(DAY).complete  # a failed fetch stores nothing
    return str(caught.value)


def stored(snapshot):
    return [snapshot.read_bytes(name) for name in snapshot.names]


def records(snapshot):
    return [location for _, location in read_locations(snapshot)]


def pages(count):
    return [f"page-{n:06d}.json" for n in range(count)]


def test_ocpi_link_follows_the_link_exactly_as_given_keeping_extra_query_params(tmp_path):
    locations = make_locations("op", 45, seed=1)
    with Recording(locations, style="ocpi_link", page_size=10) as server:
        result, snapshot = fetch(tmp_path, feed(server, "?country_code=GB"))
    assert server.requests == [(f"{P}?country_code=GB", 200)] + [
        (f"{P}?country_code=GB&offset={offset}&limit=10", 200) for offset in (10, 20, 30, 40)
    ]
    assert snapshot.names == pages(5) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    total = sum(map(len, server.sent))
    assert result == FeedFetch(styles=["ocpi"] * 5, pages=5, records=45, bytes=total, requests=5, retries=0)
    assert result.notes() == dict(
        wire_style="ocpi", pages=5, records=45, bytes=total, http_requests=5, http_retries=0
    )


@pytest.mark.parametrize(("query", "kept"), [("", ""), ("?limit=10", "limit=10&")])
def test_ocpi_total_count_advances_by_items_received_and_never_sends_limit_zero(tmp_path, query, kept):
    locations = make_locations("op", 40, seed=2)
    with Recording(locations, style="ocpi_total_count", page_size=7) as server:
        result, snapshot = fetch(tmp_path, feed(server, query))
    # The server gives 7 whatever is asked and says `X-Limit: 0`: offsets 7, 14, ..., never limit=0.
    assert server.requests == [(f"{P}{query}", 200)] + [
        (f"{P}?{kept}offset={offset}", 200) for offset in (7, 14, 21, 28, 35)
    ]
    assert snapshot.names == pages(6) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    assert result == FeedFetch(["ocpi"] * 6, 6, 40, sum(map(len, server.sent)), requests=6, retries=0)


@pytest.mark.parametrize("style", ["locations_key", "data_document", "bare_array"])
def test_an_unpaged_style_is_read_with_one_request(tmp_path, style):
    locations = make_locations("op", 40, seed=3)
    with Recording(locations, style=style, tariffs=[{"id": "T1"}]) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200)]
    assert snapshot.names == pages(1) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    assert result == FeedFetch([style], 1, 40, len(server.sent[0]), requests=1, retries=0)


def test_the_empty_page_that_ends_paging_is_stored(tmp_path):
    with Overcounting(make_locations("op", 10, seed=4), style="ocpi_total_count", page_size=7) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200), (f"{P}?offset=7", 200), (f"{P}?offset=10", 200)]
    assert snapshot.names == pages(3) and stored(snapshot) == server.sent
    assert json.loads(snapshot.read_bytes("page-000002.json"))["data"] == []
    assert (result.pages, result.records, result.requests, result.style) == (3, 10, 3, "ocpi")


def test_a_token_feed_sends_exactly_the_token_and_never_logs_or_shows_it(tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    locations = make_locations("op", 40, seed=5)
    faults = {0: [Fault("status_500")]}  # one retry, so the retry warning is among the records searched
    with Recording(locations, page_size=20, token=TOKEN, faults=faults) as server:
        result, snapshot = fetch(tmp_path, the_feed := feed(server, token_env=TOKEN_ENV))
        [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert warning.getMessage().startswith(f"feed op, page 0 of {server.url}: HTTP 500 Internal Server")
    assert server.auth == [f"Token {TOKEN}"] * 3
    assert server.requests == [(P, 500), (P, 200), (f"{P}?offset=20&limit=20", 200)]
    assert (result.pages, result.records, result.requests, result.retries) == (2, 40, 3, 1)
    assert records(snapshot) == locations

    monkeypatch.setenv(TOKEN_ENV, "wrong-" + TOKEN)  # contains TOKEN: searching for TOKEN covers both
    with Recording(locations, page_size=20, token=TOKEN) as server:
        message = fails(tmp_path / "refused", feed(server, token_env=TOKEN_ENV), CredentialsRefusedError)
        assert message == (
            f"GET {server.url} was refused with HTTP 401. Feed op did not accept the token in {TOKEN_ENV}; "
            "check or renew it."
        )
    assert server.requests == [(P, 401)]
    assert len(caplog.records) > 3  # urllib3's DEBUG records of both fetches, the retry warning
    assert not [r for r in caplog.records if TOKEN in r.getMessage() + str(r.__dict__)]
    assert TOKEN not in caplog.text + repr(OcpiFeeds(http=SETTINGS)) + repr(the_feed)


@pytest.mark.parametrize("value", [None, "  "])
def test_a_missing_token_fails_before_any_request_naming_the_variable(tmp_path, monkeypatch, value):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    if value is not None:
        monkeypatch.setenv(TOKEN_ENV, value)
    with Recording(make_locations("op", 5, seed=6), token=TOKEN) as server:
        message = fails(tmp_path, feed(server, token_env=TOKEN_ENV), FeedError)
    assert server.requests == []
    assert message == (
        f"Feed op needs a token: set {TOKEN_ENV} in the environment (see the feed list for how to obtain "
        "one)."
    )


def test_a_feed_declaring_the_servers_interval_is_served_and_one_declaring_none_is_refused(tmp_path):
    locations = make_locations("op", 25, seed=7)
    with Recording(locations, page_size=10, min_interval_s=0.15) as server:
        result, _ = fetch(tmp_path, feed(server, min_interval_s=0.15))
    assert [status for _, status in server.requests] == [200, 200, 200] and result.records == 25
    gaps = [later - earlier for earlier, later in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.15

    with Recording(locations, page_size=10, min_interval_s=0.15) as server:
        assert fails(tmp_path / "refused", feed(server), CredentialsRefusedError) == (
            f"GET {server.url}?offset=10&limit=10 was refused with HTTP 403. Feed op refused an anonymous "
            "request; if it answered a burst of requests, raise its min_interval_s in the feed list, else "
            "it may now need a token (token_env)."
        )
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 403)]


def test_an_always_failing_feed_fails_after_the_configured_attempts_naming_feed_and_url(tmp_path):
    with Recording(make_locations("op", 5, seed=8), always_fail=True) as server:
        assert fails(tmp_path, feed(server)) == (
            f"feed op, page 0 of {server.url} failed 2 times; last: HTTP 500 Internal Server Error. The "
            "upstream may be down or throttling; re-run the partition later (nothing was replaced)."
        )
    assert server.requests == [(P, 500), (P, 500)]


def test_an_ocpi_error_status_fails_naming_the_code_and_message(tmp_path):
    with Recording(make_locations("op", 5, seed=9), status_code=2001) as server:
        assert fails(tmp_path, feed(server), FeedError) == (
            f"Feed op ({server.url}), page 0: OCPI status_code 2001: Invalid or missing parameters."
        )
    assert server.requests == [(P, 200)]


def test_a_server_ignoring_offset_fails_on_the_repeated_page_instead_of_looping(tmp_path):
    with Endless(ignore_offset=True) as server:
        assert fails(tmp_path, feed(server), FeedError) == (
            f"Feed op: page 1 ({server.base_url}{P}?offset=2) repeats the page before it exactly; the server "
            "seems to ignore `offset`. Stopping instead of looping."
        )
    assert server.requests == [(P, 200), (f"{P}?offset=2", 200)]


def test_max_pages_stops_an_endless_feed(tmp_path):
    with Endless() as server:
        message = fails(tmp_path, feed(server), FeedError, max_pages=3)
    assert server.requests == [(P, 200), (f"{P}?offset=2", 200), (f"{P}?offset=4", 200)]
    assert message == (
        "Feed op still returned locations after 3 pages; stopping. Check the feed or raise max_pages on the "
        "uk_ocpi resource."
    )


def test_a_truncated_body_is_retried_and_the_stored_page_is_whole(tmp_path):
    locations = make_locations("op", 40, seed=10)
    faults = {0: [Fault("truncated_no_length")]}
    with Recording(locations, style="locations_key", faults=faults) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200), (P, 200)]
    assert snapshot.names == pages(1) and stored(snapshot) == [server.sent[1]]
    assert json.loads(snapshot.read_bytes("page-000000.json")) == {"locations": locations}
    assert (result.pages, result.records, result.requests, result.retries) == (1, 40, 2, 1)


def test_total_count_paging_keeps_the_feeds_own_query_parameters(tmp_path):
    query = "?country_code=GB&country_code=IE&evse_status="  # a repeated and a blank parameter
    with Recording(make_locations("op", 10, seed=11), style="ocpi_total_count", page_size=7) as server:
        fetch(tmp_path, feed(server, query))
    assert server.requests == [(f"{P}{query}", 200), (f"{P}{query}&offset=7", 200)]


def test_a_token_with_a_trailing_newline_never_reaches_an_error_message(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN + "\n")  # as a secret file or a CRLF .env file often gives it
    with Recording(make_locations("op", 5, seed=12), token=TOKEN) as server:
        try:  # sending the token stripped, or refusing the value naming only its variable: both are fine
            result, _ = fetch(tmp_path, feed(server, token_env=TOKEN_ENV))
        except UpstreamError as error:
            assert TOKEN_ENV in str(error) and TOKEN not in str(error) and server.requests == []
        else:
            assert server.auth == [f"Token {TOKEN}"] and result.records == 5


def test_a_page_whose_data_is_not_a_list_fails_instead_of_ending_the_feed_early(tmp_path):
    faults = {1: [Fault("content_not_list")]}  # page 1 answers `"data": {"oops": 1}` with status 1000
    with Recording(make_locations("op", 45, seed=13), page_size=10, faults=faults) as server:
        assert fails(tmp_path, feed(server), FeedError) == (
            f"Feed op ({server.url}?offset=10&limit=10), page 1: no list of locations: expected a bare "
            "array, or `data` (a list, or an object with a `locations` list), or `locations`."
        )
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200)]
