"""The shared HTTP client against the sandbox's real servers and their injected faults."""

import json
import logging
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from pipeline.resources.http import (
    HttpClient,
    HttpSettings,
    InvalidBody,
    Spacing,
    UpstreamError,
    hide_query_param,
    parse_retry_after,
    redact_url,
)
from pipeline.sandbox import Fault, RegistryServer
from pipeline.sandbox._http import Reply, Upstream

DOCUMENT = {"Scheme": {"SchemeCode": "X"}, "ChargeDevice": [{"ChargeDeviceId": f"d{i}"} for i in range(500)]}
FAST = {"backoff_initial_s": 0.001, "backoff_max_s": 0.01, "retry_after_max_s": 0.05}


def client(**settings):
    sleeps: list[float] = []
    http = HttpClient(
        HttpSettings(**(FAST | settings)), sleep=sleeps.append, logger=logging.getLogger("test.http")
    )
    return http, sleeps


def read_json(response):
    try:
        return json.loads(response.content)
    except ValueError:
        raise InvalidBody("body is not valid JSON") from None


def fetch_with(faults, **settings):
    with RegistryServer(DOCUMENT, faults=faults) as server:
        http, sleeps = client(**settings)
        result = http.fetch(server.url, read_json, what="the registry")
        return result, http, sleeps, server


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status_503", times=2),
        Fault("status_500", times=2),
        Fault("status_429", times=2),
        Fault("truncated_body", times=2),
        Fault("not_json", times=2),
    ],
    ids=lambda f: f.kind,
)
def test_transient_faults_are_retried_until_the_body_is_whole(fault):
    result, http, sleeps, server = fetch_with([fault])
    assert result == DOCUMENT
    assert (http.stats.requests, http.stats.retries) == (3, 2)
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)
    assert [status for _, status in server.requests][-1] == 200


def test_a_read_timeout_mid_request_is_retried():
    # Wide margins both ways: the stalled answer can never arrive in time, a normal one always does.
    result, http, _, _ = fetch_with([Fault("slow", delay_s=30)], read_timeout_s=2)
    assert result == DOCUMENT and http.stats.retries == 1


def test_retry_after_is_honoured_within_its_cap():
    _, _, sleeps, _ = fetch_with([Fault("status_429", retry_after="30")], retry_after_max_s=0.05)
    assert sleeps == [0.05]


def test_retry_after_zero_still_backs_off_between_attempts():
    _, _, sleeps, _ = fetch_with(
        [Fault("status_429", times=3, retry_after="0")], backoff_initial_s=0.01, backoff_max_s=1
    )
    assert len(sleeps) == 3
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02 and 0.02 <= sleeps[2] <= 0.04


def test_retry_after_as_http_date():
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 25 Nov 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("12", now=now) == 12.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_giving_up_names_what_and_where_and_the_last_fault():
    with RegistryServer(DOCUMENT, faults=[Fault("status_503", times=10)]) as server:
        http, _ = client(max_attempts=3)
        with pytest.raises(
            UpstreamError,
            match=r"the registry of http://127\.0\.0\.1:\d+/api/.* failed 3 times; last: HTTP 503",
        ):
            http.fetch(server.url, read_json, what="the registry")
        assert len(server.requests) == 3


def test_every_retry_is_logged_with_url_reason_and_wait(caplog):
    caplog.set_level(logging.WARNING, logger="test.http")
    with RegistryServer(DOCUMENT, faults=[Fault("status_503", retry_after="1")]) as server:
        http, _ = client(retry_after_max_s=0.02)
        http.fetch(server.url, read_json, what="the registry")
        url = server.url
    [record] = caplog.records
    assert record.getMessage() == f"the registry of {url}: HTTP 503 Service Unavailable; retry 1/5 in 0.02s"


class FakeClock:
    """Monotonic time that moves only when slept on; `late_s` oversleeps every sleep by that much."""

    def __init__(self, *, late_s=0.0):
        self.now, self.late_s, self.sleeps = 100.0, late_s, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds + self.late_s


def starts(spacing, clock, count, *, answer_s=0.0):
    """When each of `count` requests started (from 100 s), each answered `answer_s` after its start."""
    at = []
    for _ in range(count):
        spacing.start(clock.sleep)
        at.append(round(clock.now - 100.0, 6))
        clock.now += answer_s
        spacing.answered()
    return at


def test_spacing_counts_the_interval_from_the_previous_answer():
    clock = FakeClock()
    spacing = Spacing(0.2, clock=clock)
    # Answered 25 ms after it left: the server saw it at most then, so the next leaves 0.2 s later.
    assert starts(spacing, clock, 3, answer_s=0.025) == [0.0, 0.225, 0.45]
    assert clock.sleeps == [0.2, 0.2]
    clock.now += 0.5  # a slow page body: the next request may start at once
    assert spacing.wait_time() == 0.0 and starts(spacing, clock, 1) == [0.975]


def test_a_late_wake_up_never_shortens_the_next_gap():
    clock = FakeClock(late_s=0.004)
    spacing = Spacing(0.2, clock=clock)
    assert starts(spacing, clock, 3) == [0.0, 0.204, 0.408]


def test_threads_sharing_a_spacing_also_start_an_interval_apart():
    clock = FakeClock()
    spacing = Spacing(0.2, clock=clock)
    spacing.start(clock.sleep)
    spacing.start(clock.sleep)  # the first is still in flight
    assert round(clock.now - 100.0, 6) == 0.2


def test_a_deferral_holds_back_the_next_start_and_never_brings_it_forward():
    clock = FakeClock()
    spacing = Spacing(0.2, clock=clock)
    spacing.start(clock.sleep)
    spacing.answered()
    spacing.defer(2.0)
    spacing.defer(0.5)
    assert spacing.wait_time() == 2.0
    assert starts(spacing, clock, 2) == [2.0, 2.2]


def test_no_interval_never_waits_but_still_honours_a_deferral():
    clock = FakeClock()
    spacing = Spacing(0.0, clock=clock)
    assert starts(spacing, clock, 3) == [0.0, 0.0, 0.0] and clock.sleeps == []
    spacing.defer(1.5)
    assert starts(spacing, clock, 1) == [1.5]
    with pytest.raises(ValueError, match="must be >= 0"):
        Spacing(-1)


def test_spacing_shared_by_threads_never_lets_two_starts_closer_than_the_interval():
    seen = threading.local()

    def clock():  # each thread's last reading: the one that took its slot when `start` returns
        seen.now = time.monotonic()
        return seen.now

    spacing = Spacing(0.02, clock=clock)
    at: list[float] = []

    def take():
        for _ in range(5):
            spacing.start()
            at.append(seen.now)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    at.sort()
    assert len(at) == 20 and min(b - a for a, b in pairwise(at)) >= 0.02


def test_a_retry_after_answered_to_one_client_holds_back_every_client_sharing_its_spacing():
    clock = FakeClock()
    spacing = Spacing(0.0, clock=clock)
    settings = HttpSettings(**(FAST | {"max_attempts": 1, "retry_after_max_s": 5.0}))
    first = HttpClient(settings, spacing=spacing, sleep=clock.sleep)
    second = HttpClient(settings, spacing=spacing, sleep=clock.sleep)
    with RegistryServer(DOCUMENT, faults=[Fault("status_429", retry_after="30")]) as server:
        with pytest.raises(UpstreamError, match="HTTP 429"):
            first.fetch(server.url, read_json, what="the registry")
        assert spacing.wait_time() == 5.0  # the Retry-After, within its cap
        assert second.fetch(server.url, read_json) == DOCUMENT
    assert clock.sleeps == [5.0]
    with pytest.raises(ValueError, match="not both"):
        HttpClient(settings, spacing=spacing, min_interval_s=1)


class Once(Upstream):
    """Answers every GET with one fixed body."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def respond(self, path, headers):
        return Reply(200, self.body)


@pytest.mark.parametrize("body", [b'\xef\xbb\xbf{"data": [1, 2]}', b"\xef\xbb\xbf[]", b'{"data": [1, 2]}'])
def test_a_body_starting_with_a_utf8_bom_is_json_and_stored_exactly_as_sent(tmp_path, body):
    with Once(body) as server:
        http, _ = client()
        download = http.download_json(f"{server.base_url}/l", tmp_path / "page.json", what="a page")
    assert (tmp_path / "page.json").read_bytes() == body
    assert download.bytes == len(body) and http.stats.requests == 1 and http.stats.retries == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xef\xbb\xbf<html>oops</html>", r"not one JSON document .*starts b'\\xef\\xbb\\xbf<html>"),
        (b"\xef\xbb\xbf", "the body ended after 3 bytes before its JSON document was complete"),
    ],
)
def test_a_bom_alone_or_before_no_json_is_still_not_json(tmp_path, body, reason):
    with Once(body) as server:
        http, _ = client(max_attempts=1)
        with pytest.raises(UpstreamError, match=reason):
            http.download_json(f"{server.base_url}/l", tmp_path / "page.json", what="a page")


@pytest.mark.parametrize(
    ("url", "hide", "shown"),
    [
        ("https://u:p@x.test/l?a=1", (), "https://x.test/l?a=1"),
        ("https://x.test/l?apiKey=s3cr3t&offset=10", (), "https://x.test/l?apiKey=***&offset=10"),
        ("https://x.test/l?offset=10&APIKEY=s3cr3t", (), "https://x.test/l?offset=10&APIKEY=***"),
        ("https://x.test/l?code=s3cr3t&code=t2&c=3", ("code",), "https://x.test/l?code=***&code=***&c=3"),
        (
            "https://x.test/l?date_from=2025-01-01T00%3A00Z&x=",
            (),
            "https://x.test/l?date_from=2025-01-01T00%3A00Z&x=",
        ),
        ("/ocpi/locations?subscription-key=s3cr3t", (), "/ocpi/locations?subscription-key=***"),
        ("https://x.test/l?ApiKey", (), "https://x.test/l?ApiKey=***"),
    ],
)
def test_redact_url_masks_credentials_and_secret_query_parameters_keeping_the_rest_verbatim(url, hide, shown):
    assert redact_url(url, hide=hide) == shown


def test_a_hidden_parameter_is_masked_in_every_message_and_in_urllib3s_request_log(caplog):
    hide_query_param("sig_x9")
    caplog.set_level(logging.DEBUG)
    with RegistryServer(DOCUMENT, faults=[Fault("status_503", times=10)]) as server:
        http, _ = client(max_attempts=2)
        with pytest.raises(UpstreamError) as caught:
            http.fetch(f"{server.url}?sig_x9=hush-7731&n=1", read_json, what="the registry")
    assert "hush-7731" not in str(caught.value) and "sig_x9=***&n=1 failed 2 times" in str(caught.value)
    request_lines = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert len([line for line in request_lines if "sig_x9=***&n=1" in line]) == 2
    assert "hush-7731" not in caplog.text


class Gone(Upstream):
    def respond(self, path, headers):
        return Reply(404, b'{"status_code": 2003}')


def test_a_refusal_not_worth_retrying_carries_its_status_once_asked():
    http, sleeps = client()
    with Gone() as server:
        with pytest.raises(UpstreamError) as caught:
            http.fetch(f"{server.base_url}/tariffs/T1", read_json, what="tariff T1")
        assert len(server.requests) == 1
    assert caught.value.status == 404  # callers tell "not found" from other refusals without the wording
    assert sleeps == []
    assert "answered HTTP 404 Not Found. This is not a temporary fault" in str(caught.value)
