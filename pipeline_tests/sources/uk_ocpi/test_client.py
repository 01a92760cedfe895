"""Reading one OCPI feed against the fakes on the wire: every wire style, auth, politeness and failures."""

import base64
import json
import logging
import time
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
from upath import UPath

from pipeline.resources.http import CredentialsRefusedError, HttpSettings, UpstreamError
from pipeline.resources.raw_zone import RawZone
from pipeline.sandbox._http import Reply, Upstream, json_reply
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
        self.sent, self.auth, self.arrivals, self.headers = [], [], [], []

    def respond(self, path, headers):
        self.arrivals.append(time.monotonic())
        self.auth.append(headers.get("Authorization"))
        self.headers.append(dict(headers))
        reply = super().respond(path, headers)
        self.sent.append(reply.body)
        return reply


class Overcounting(Recording):
    """Claims five more locations in `X-Total-Count` than it has, so paging ends on an empty page."""

    def _reply(self, ask, size, kind):
        reply = super()._reply(ask, size, kind)
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
    assert result == FeedFetch(
        ["ocpi"] * 5, 5, 45, total, requests=5, retries=0, declared_total=45, ended="total reached"
    )
    assert result.notes() == dict(
        wire_style="ocpi",
        pages=5,
        records=45,
        bytes=total,
        http_requests=5,
        http_retries=0,
        declared_total=45,
        boms=0,
        ended="total reached",
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
    total = sum(map(len, server.sent))
    assert result == FeedFetch(["ocpi"] * 6, 6, 40, total, 6, 0, declared_total=40, ended="total reached")


@pytest.mark.parametrize("style", ["locations_key", "data_document", "bare_array"])
def test_an_unpaged_style_is_read_with_one_request(tmp_path, style):
    locations = make_locations("op", 40, seed=3)
    with Recording(locations, style=style, tariffs=[{"id": "T1"}]) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200)]
    assert snapshot.names == pages(1) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    assert result == FeedFetch(
        [style], 1, 40, len(server.sent[0]), requests=1, retries=0, ended="one document"
    )
    assert (result.declared_total, result.notes()["declared_total"], result.boms) == (None, None, 0)


def test_the_empty_page_that_ends_paging_is_stored(tmp_path):
    with Overcounting(make_locations("op", 10, seed=4), style="ocpi_total_count", page_size=7) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200), (f"{P}?offset=7", 200), (f"{P}?offset=10", 200)]
    assert snapshot.names == pages(3) and stored(snapshot) == server.sent
    assert json.loads(snapshot.read_bytes("page-000002.json"))["data"] == []
    assert (result.pages, result.records, result.requests, result.style) == (3, 10, 3, "ocpi")
    assert (result.declared_total, result.ended) == (15, "empty page")


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
            "array, or a list under `data`, `locations` or `items` at the top or one envelope deeper; "
            "top-level keys: `data`, `status_code`, `status_message`, `timestamp`."
        )
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200)]


# --- Every envelope and header quirk real UK feeds send, on the wire ---------------------------------------


def cursor_of(offset, *, sent=True):
    """The fake's cursor token for `offset`; as the client sends it back, URL-encoded, or as given."""
    token = base64.urlsafe_b64encode(f"at:{offset}".encode()).decode()
    return quote(token, safe="") if sent else token


@pytest.mark.parametrize(
    ("style", "paths", "ended", "declared"),
    [
        ("nested_envelope", [P], "one document", None),
        ("data_wrapper", [P], "one document", None),
        ("ocpi_camel", [P, f"{P}?offset=10&limit=10", f"{P}?offset=20&limit=10"], "total reached", 25),
        (
            "items_cursor",
            [P, f"{P}?cursor={cursor_of(10)}", f"{P}?cursor={cursor_of(20)}"],
            "no next page",
            None,
        ),
        (
            "ocpi_offset_only",  # full pages of X-Limit items and nothing else: more asked for by guess
            [P, f"{P}?offset=10&limit=10", f"{P}?offset=20&limit=10"],
            "page below the limit",
            None,
        ),
    ],
)
def test_every_envelope_is_read_from_the_answer_with_no_per_feed_switch(
    tmp_path, style, paths, ended, declared
):
    locations = make_locations("op", 25, seed=20)
    with Recording(locations, style=style, page_size=10, tariffs=[{"id": "T1"}]) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(path, 200) for path in paths]
    assert snapshot.names == pages(len(paths)) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    total = sum(map(len, server.sent))
    assert result == FeedFetch(
        [style.replace("ocpi_offset_only", "ocpi")] * len(paths),
        len(paths),
        25,
        total,
        len(paths),
        0,
        declared_total=declared,
        ended=ended,
    )


@pytest.mark.parametrize(
    ("quirk", "second"),
    [
        ("cursor_url", f"{P}?cursor={cursor_of(10, sent=False)}"),
        ("cursor_relative", f"{P}?cursor={cursor_of(10, sent=False)}"),
    ],
)
def test_a_cursor_given_as_a_url_absolute_or_relative_is_followed_as_given(tmp_path, quirk, second):
    locations = make_locations("op", 15, seed=21)
    with Recording(locations, style="items_cursor", page_size=10, quirks={quirk}) as server:
        result, snapshot = fetch(tmp_path, feed(server, "?limit=10"))
    assert server.requests == [(f"{P}?limit=10", 200), (second, 200)]
    assert (result.pages, result.records, result.ended, records(snapshot)) == (
        2,
        15,
        "no next page",
        locations,
    )


@pytest.mark.parametrize(
    ("count", "paths", "ended"),
    [
        (25, ["?limit=10", "?limit=10&offset=10", "?limit=10&offset=20"], "page below the limit"),
        (20, ["?limit=10", "?limit=10&offset=10", "?limit=10&offset=20"], "empty page"),
        (7, ["?limit=10"], "page below the limit"),
    ],
)
def test_without_x_limit_a_page_as_full_as_the_limit_the_reader_sent_asks_for_more(
    tmp_path, count, paths, ended
):
    locations = make_locations("op", count, seed=22)
    with Recording(locations, style="ocpi_offset_only", page_size=10, quirks={"no_x_limit"}) as server:
        result, snapshot = fetch(tmp_path, feed(server, "?limit=10"))
    assert server.requests == [(f"{P}{path}", 200) for path in paths]
    assert (result.pages, result.records, result.declared_total, result.ended) == (
        len(paths),
        count,
        None,
        ended,
    )
    assert records(snapshot) == locations


def test_a_guessed_page_repeating_the_one_before_ends_the_feed_and_is_read_once(tmp_path):
    locations = make_locations("op", 10, seed=23)  # exactly one full page, offset ignored
    with Recording(locations, style="ocpi_offset_only", page_size=10, quirks={"ignore_offset"}) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200)]
    assert snapshot.names == pages(2) and stored(snapshot) == server.sent  # stored as returned
    assert records(snapshot) == locations  # the repeat is not read twice
    assert (result.pages, result.records, result.ended) == (2, 10, "repeated page (guessed paging)")


def test_a_repeated_page_still_fails_when_a_link_said_more_pages_exist(tmp_path):
    with Recording(make_locations("op", 25, seed=24), page_size=10, quirks={"ignore_offset"}) as server:
        assert fails(tmp_path, feed(server), FeedError) == (
            f"Feed op: page 1 ({server.url}?offset=10&limit=10) repeats the page before it exactly; the "
            "server seems to ignore `offset`. Stopping instead of looping."
        )


@pytest.mark.parametrize(
    "quirks",
    [{"wp_link"}, {"rel_upper"}, {"rel_list"}, {"relative_link"}, {"wp_link", "rel_list", "relative_link"}],
    ids=lambda quirks: "+".join(sorted(quirks)),
)
def test_link_rels_in_any_case_as_a_list_relative_and_beside_wordpress_are_followed(tmp_path, quirks):
    locations = make_locations("op", 25, seed=25)
    with Recording(locations, page_size=10, quirks=quirks) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200), (f"{P}?offset=20&limit=10", 200)]
    assert (result.pages, result.records, result.ended, records(snapshot)) == (
        3,
        25,
        "total reached",
        locations,
    )


def test_a_wordpress_link_on_a_one_document_feed_is_not_a_next_page(tmp_path):
    locations = make_locations("op", 12, seed=26)
    with Recording(locations, style="nested_envelope", quirks={"wp_link", "bom"}) as server:
        result, snapshot = fetch(tmp_path, feed(server))
        assert server.requests == [(P, 200)]
        assert server_link(server) == f'<{server.base_url}/wp-json/>; rel="https://api.w.org/"'
    assert (result.style, result.pages, result.records, result.boms, result.ended) == (
        "nested_envelope",
        1,
        12,
        1,
        "one document",
    )
    assert records(snapshot) == locations


def server_link(server):
    return requests.get(server.url, timeout=5).headers["Link"]


@pytest.mark.parametrize("style", ["ocpi_link", "ocpi_total_count"])
def test_a_total_shrinking_mid_crawl_ends_the_crawl_and_the_largest_total_is_recorded(tmp_path, style):
    locations = make_locations("op", 40, seed=27)
    with Recording(locations, style=style, page_size=10, quirks={"shrinking_total"}) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert len(server.requests) == 2 and len(records(snapshot)) == 20
    assert (result.records, result.declared_total, result.ended) == (20, 40, "total reached")
    assert result.notes()["declared_total"] == 40


def test_a_bom_on_every_page_is_stored_as_sent_skipped_and_counted(tmp_path):
    locations = make_locations("op", 25, seed=28)
    with Recording(locations, page_size=10, quirks={"bom"}) as server:
        result, snapshot = fetch(tmp_path, feed(server))
    assert all(body.startswith(b"\xef\xbb\xbf") for body in server.sent) and stored(snapshot) == server.sent
    assert records(snapshot) == locations
    assert (result.pages, result.records, result.boms, result.retries) == (3, 25, 3, 0)


# --- Auth styles --------------------------------------------------------------------------------------------


def test_a_header_feed_sends_the_secret_as_is_in_its_header_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    locations = make_locations("op", 25, seed=29)
    with Recording(locations, page_size=10, token=TOKEN, auth_header="ec-subscription-key") as server:
        result, _ = fetch(tmp_path, feed(server, token_env=TOKEN_ENV, header="ec-subscription-key"))
    assert [status for _, status in server.requests] == [200, 200, 200] and result.records == 25
    assert [h.get("ec-subscription-key") for h in server.headers] == [TOKEN] * 3
    assert server.auth == [None] * 3  # no Authorization header besides


class EchoingStale(Recording):
    """Echoes a stale key in its next-page Link, as a server keeping every parameter might."""

    def _reply(self, ask, size, kind):
        reply = super()._reply(ask, size, kind)
        if "Link" in reply.headers:
            reply.headers["Link"] = reply.headers["Link"].replace(f"apiKey={TOKEN}", "apiKey=stale-echo")
        return reply


def test_a_query_param_feed_sends_the_secret_on_every_request_replacing_an_echoed_one(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    locations = make_locations("op", 25, seed=30)
    with EchoingStale(locations, page_size=10, token=TOKEN, auth_param="apiKey") as server:
        result, snapshot = fetch(
            tmp_path, feed(server, "?country_code=GB", token_env=TOKEN_ENV, query_param="apiKey")
        )
    assert server.requests == [
        (f"{P}?country_code=GB&apiKey={TOKEN}", 200),
        (f"{P}?country_code=GB&offset=10&limit=10&apiKey={TOKEN}", 200),
        (f"{P}?country_code=GB&offset=20&limit=10&apiKey={TOKEN}", 200),
    ]
    assert server.auth == [None] * 3 and (result.records, records(snapshot)) == (25, locations)
    assert TOKEN.encode() not in b"".join(stored(snapshot)) + json.dumps(result.notes()).encode()


@pytest.mark.parametrize("param", ["apiKey", "sub_x7"])  # a usual name, and one only the feed list names
def test_a_query_param_secret_never_reaches_a_log_line_or_an_error(tmp_path, monkeypatch, caplog, param):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    locations = make_locations("op", 25, seed=31)
    faults = {1: [Fault("status_500")]}  # a retry warning naming the URL
    with Recording(locations, page_size=10, token=TOKEN, auth_param=param, faults=faults) as server:
        result, _ = fetch(tmp_path, feed(server, token_env=TOKEN_ENV, query_param=param))
        [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
        assert warning.getMessage().startswith(
            f"feed op, page 1 of {server.url}?offset=10&limit=10&{param}=***: HTTP 500"
        )
    assert (result.records, result.retries) == (25, 1)
    monkeypatch.setenv(TOKEN_ENV, "wrong-" + TOKEN)
    with Recording(locations, page_size=10, token=TOKEN, auth_param=param) as server:
        message = fails(
            tmp_path / "refused",
            feed(server, token_env=TOKEN_ENV, query_param=param),
            CredentialsRefusedError,
        )
        assert message == (
            f"GET {server.url}?{param}=*** was refused with HTTP 401. Feed op did not accept the token in "
            f"{TOKEN_ENV} (sent as the {param} query parameter); check or renew it."
        )
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "urllib3.connectionpool" and "GET" in r.getMessage()
    ]
    assert len(lines) == 5 and all(f"{param}=***" in line for line in lines)
    assert not [r for r in caplog.records if TOKEN in r.getMessage() + str(r.__dict__)]


class Moved(Upstream):
    """The feed moved: its old path redirects (302) to the new one, whose pages link the next one by a
    URL relative to the new path (`locations?offset=2`)."""

    def respond(self, path, headers):
        url = urlsplit(path)
        if url.path == "/old/locations":
            return Reply(302, b"", headers={"Location": "/v2/ocpi/locations"})
        if url.path != "/v2/ocpi/locations":
            return json_reply(404, {"status_code": 2000, "status_message": f"no {url.path}"})
        offset = int(dict(parse_qsl(url.query)).get("offset", "0"))
        items = [{"id": f"L{n}"} for n in range(offset, min(offset + 2, 5))]
        link = {"Link": f'<locations?offset={offset + 2}>; rel="next"'} if offset + 2 < 5 else {}
        return json_reply(200, {"data": items, "status_code": 1000}, headers=link)


def test_after_a_redirect_a_relative_link_is_relative_to_where_it_led(tmp_path):
    with Moved() as server:
        the_feed = Feed(operator="op", name="Op Ltd", url=f"{server.base_url}/old/locations")
        result, snapshot = fetch(tmp_path, the_feed)
        asked = [path for path, _ in server.requests]
    assert asked == [
        "/old/locations",
        "/v2/ocpi/locations",
        "/v2/ocpi/locations?offset=2",
        "/v2/ocpi/locations?offset=4",
    ]
    assert (result.pages, result.records, result.ended) == (3, 5, "one document")
    assert [location["id"] for _, location in read_locations(snapshot)] == ["L0", "L1", "L2", "L3", "L4"]
