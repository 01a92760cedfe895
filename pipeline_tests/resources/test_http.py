"""The shared HTTP client against the sandbox's real servers and their injected faults."""

import json
import logging
from datetime import UTC, datetime

import pytest

from pipeline.resources.http import HttpClient, HttpSettings, InvalidBody, UpstreamError, parse_retry_after
from pipeline.sandbox import Fault, RegistryServer

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
    result, http, _, _ = fetch_with([Fault("slow", delay_s=0.6)], read_timeout_s=0.2)
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
