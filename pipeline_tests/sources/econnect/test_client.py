import itertools
import json
import re
import time

import pytest
import responses

from pipeline.resources.http import (
    CredentialsRefusedError,
    HttpSettings,
    OriginRefused,
    RateLimiter,
    UpstreamError,
)
from pipeline.sandbox import EConnectServer, make_stations
from pipeline.sandbox._http import json_reply
from pipeline.sandbox._origins import OTHER_HOST, Recorder, redirect
from pipeline.sources.econnect.client import EConnectApi
from pipeline.sources.econnect.definitions import build
from pipeline.sources.plugin import SourceContext

BASE = "http://econnect.test"
URL = f"{BASE}/masterdata/cpos/BP1/chargingstations"
FAST = HttpSettings(max_attempts=1)


def api(**overrides):
    settings = {
        "base_url": BASE,
        "username": "u",
        "password": "s3cret-pw",
        "business_partner": "BP1",
        "http": FAST,
    }
    return EConnectApi(**(settings | overrides))


def page_body(ids, *, last=False, total_pages=1):
    return json.dumps({"content": [{"id": i} for i in ids], "last": last, "totalPages": total_pages})


def add_page(number, body, status=200):
    responses.add(responses.GET, re.compile(rf"{URL}\?page={number}&size=100$"), body=body, status=status)


@responses.activate
def test_paging_stops_at_the_first_empty_page_not_at_last_or_total_pages():
    add_page(0, page_body([1, 2], last=True, total_pages=1))  # the server under-reports
    add_page(1, page_body([3]))
    add_page(2, page_body([]))
    pages = list(api().iter_pages())
    assert [p.number for p in pages] == [0, 1, 2]
    assert [p.records for p in pages] == [2, 1, 0]
    assert pages[0].body == page_body([1, 2], last=True, total_pages=1).encode()
    assert len(responses.calls) == 3
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_a_page_repeating_the_previous_one_fails_instead_of_looping():
    add_page(0, page_body([1, 2]))
    add_page(1, page_body([1, 2]))
    with pytest.raises(UpstreamError, match=r"Page 1 of .* repeats page 0 exactly"):
        list(api().iter_pages())


@responses.activate
def test_endless_paging_is_stopped_by_max_pages():
    for number in range(4):
        add_page(number, page_body([number]))
    with pytest.raises(UpstreamError, match="still returned stations after 3 pages"):
        list(api(max_pages=3).iter_pages())
    assert len(responses.calls) == 4


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_fail_at_once_without_the_password(status):
    add_page(0, '{"error": "unauthorized"}', status=status)
    with pytest.raises(CredentialsRefusedError) as failure:
        list(api(http=HttpSettings(max_attempts=4)).iter_pages())
    message = str(failure.value)
    assert f"HTTP {status}" in message and URL in message and "ECONNECT_PASSWORD" in message
    assert "s3cret-pw" not in message and "Basic" not in message
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("<html>maintenance</html>", "body is not valid JSON"),
        ('{"content": {"a": 1}}', "body has no `content` list"),
    ],
)
def test_unusable_page_bodies_are_retried_then_fail_naming_the_page(body, error):
    add_page(0, page_body([1]))
    add_page(1, body)
    client = api(http=HttpSettings(max_attempts=3)).http_client()
    client._sleep = lambda seconds: None
    with pytest.raises(
        UpstreamError, match=rf"page 1 of {re.escape(URL)} failed 3 times; last: {re.escape(error)}"
    ):
        list(api().iter_pages(client))
    assert len(responses.calls) == 1 + 3


def test_password_is_not_in_the_resource_repr():
    assert "s3cret-pw" not in repr(api())


def test_pages_after_the_first_are_fetched_concurrently_when_the_total_is_known():
    """Against the sandbox's real server (`responses` serialises its callbacks): with 0.2 s per answer,
    requests can only overlap in time if they are in flight together."""
    with EConnectServer(make_stations(550), "u", "p", "BP", latency_s=0.2) as server:
        api = EConnectApi(
            base_url=server.base_url, username="u", password="p", business_partner="BP", max_concurrency=5
        )
        client = api.http_client()
        intervals: list[tuple[float, float]] = []
        fetch = client.fetch

        def timed_fetch(*args, **kwargs):
            started = time.monotonic()
            try:
                return fetch(*args, **kwargs)
            finally:
                intervals.append((started, time.monotonic()))

        client.fetch = timed_fetch  # type: ignore[method-assign]
        pages = list(api.iter_pages(client))
    assert sorted(p.number for p in pages) == list(range(7))  # 6 full pages, then the empty one
    assert pages[0].number == 0 and pages[-1].number == 6
    intervals.sort()
    overlapping = sum(1 for (_, end), (start, _) in itertools.pairwise(intervals) if start < end)
    assert overlapping >= 3, intervals


@responses.activate
def test_an_under_reported_total_never_stops_paging_early():
    add_page(0, page_body([0], total_pages=2))
    for number in range(1, 5):
        add_page(number, page_body([number]))
    add_page(5, page_body([]))
    pages = list(api(max_concurrency=4).iter_pages())
    assert [p.number for p in pages] == [0, 1, 2, 3, 4, 5]


@responses.activate
def test_a_repeated_page_is_caught_whatever_order_pages_arrive_in():
    add_page(0, page_body([0], total_pages=4))
    add_page(1, page_body([7, 8]))
    add_page(2, page_body([7, 8]))
    add_page(3, page_body([3]))
    with pytest.raises(UpstreamError, match=r"Page 2 of .* repeats page 1 exactly"):
        list(api(max_concurrency=3).iter_pages())


def test_rate_limiter_spaces_request_starts_evenly():
    now = [100.0]
    limiter = RateLimiter(2.0, clock=lambda: now[0])
    assert [limiter.wait_time() for _ in range(3)] == [0.0, 0.5, 1.0]
    now[0] = 105.0
    assert limiter.wait_time() == 0.0


def test_a_redirect_to_another_origin_is_refused_unless_econnect_follow_hosts_names_it():
    path = "/masterdata/cpos/BP/chargingstations"
    with Recorder({path: json_reply(200, {"content": []})}, host=OTHER_HOST) as other, Recorder() as home:
        home.routes[path] = redirect(f"{other.base_url}{path}?page=0&size=100")
        settings = {"base_url": home.base_url, "password": "s3cret-pw", "business_partner": "BP"}
        with pytest.raises(
            OriginRefused, match=r"not requested\. If 127\.0\.0\.2:\d+ .* ECONNECT_FOLLOW_HOSTS"
        ):
            list(api(**settings).iter_pages())
        assert other.seen == []
        pages = list(api(**settings, follow_hosts=[OTHER_HOST]).iter_pages())
        [(_, sent_home), (_, sent_home_again)] = home.seen
        [(_, sent_other)] = other.seen
    assert [page.records for page in pages] == [0]
    assert sent_home["authorization"] == sent_home_again["authorization"] != ""
    assert "authorization" not in sent_other  # the password never leaves the API's origin


def test_econnect_follow_hosts_is_read_from_the_environment():
    environ = {
        "ECONNECT_API_URL": "https://api.test",
        "ECONNECT_FOLLOW_HOSTS": " mirror.test, cdn.test:8443  other.test ",
    }
    resource = build(SourceContext(environ)).resources["econnect"]
    assert resource.follow_hosts == ["mirror.test", "cdn.test:8443", "other.test"]
    assert (
        build(SourceContext({"ECONNECT_API_URL": "https://api.test"})).resources["econnect"].follow_hosts
        == []
    )
