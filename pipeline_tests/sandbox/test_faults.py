"""Each injected fault does what it says, on the page it is keyed to, exactly ``times`` times."""

from __future__ import annotations

import pytest
import requests

from pipeline.sandbox.faults import Fault
from pipeline.sandbox.uk_registry import RegistryServer


@pytest.mark.parametrize("status", [429, 503, 500])
def test_status_faults_are_consumed_after_times(start_econnect, get_page, status):
    fault = Fault(f"status_{status}", times=2, retry_after="7")
    server = start_econnect(faults={1: [fault]})
    assert get_page(server, 0).status_code == 200  # other pages are untouched
    for _ in range(2):
        response = get_page(server, 1)
        assert response.status_code == status
        assert response.headers["Retry-After"] == "7"
        assert response.json()["status"] == status
    assert get_page(server, 1).status_code == 200
    assert [status_code for _path, status_code in server.requests] == [200, status, status, 200]


def test_retry_after_is_omitted_unless_given(start_econnect, get_page):
    response = get_page(start_econnect(faults={0: [Fault("status_429")]}), 0)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_faults_for_a_page_are_applied_in_order(start_econnect, get_page):
    server = start_econnect(faults={0: [Fault("status_429"), Fault("status_503", times=2)]})
    assert [get_page(server, 0).status_code for _ in range(4)] == [429, 503, 503, 200]


def test_truncated_body_breaks_the_read_once(start_econnect, get_page):
    server = start_econnect(faults={0: [Fault("truncated_body")]})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get_page(server, 0)
    assert len(get_page(server, 0).json()["content"]) == 100


def test_slow_delays_the_answer(start_econnect, get_page):
    server = start_econnect(faults={0: [Fault("slow", delay_s=30)]})
    with pytest.raises(requests.exceptions.ReadTimeout):
        get_page(server, 0, timeout=0.1)
    # The fault is spent: the next answer comes well inside a timeout far shorter than the delay.
    assert get_page(server, 0, timeout=5).status_code == 200


def test_not_json_is_an_html_200(start_econnect, get_page):
    server = start_econnect(faults={0: [Fault("not_json")]})
    response = get_page(server, 0)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert get_page(server, 0).json()["number"] == 0


def test_repeat_previous_page_serves_the_previous_body(start_econnect, get_page):
    server = start_econnect(faults={1: [Fault("repeat_previous_page")]})
    first = get_page(server, 0)
    repeated = get_page(server, 1)
    assert repeated.content == first.content
    assert repeated.json()["number"] == 0
    assert get_page(server, 1).json()["number"] == 1


def test_content_not_list(start_econnect, get_page):
    server = start_econnect(faults={0: [Fault("content_not_list")]})
    assert get_page(server, 0).json() == {"content": {"oops": 1}}
    assert isinstance(get_page(server, 0).json()["content"], list)


def test_ncr_faults_apply_to_the_single_document():
    faults = [
        Fault("status_503", retry_after="1"),
        Fault("truncated_body"),
        Fault("not_json"),
        Fault("content_not_list"),
    ]
    document = {"Scheme": {"SchemeCode": "OCPI"}, "ChargeDevice": [{"ChargeDeviceId": "a" * 32}]}
    with RegistryServer(document, faults=faults) as server:
        assert requests.get(server.url, timeout=5).status_code == 503
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(server.url, timeout=5)
        assert requests.get(server.url, timeout=5).headers["Content-Type"].startswith("text/html")
        assert requests.get(server.url, timeout=5).json()["ChargeDevice"] == {"oops": 1}
        assert requests.get(server.url, timeout=5).json() == document


def test_invalid_faults_are_rejected():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("status_418")
    with pytest.raises(ValueError, match="times"):
        Fault("slow", times=0)
    with pytest.raises(ValueError, match="repeat_previous_page"):
        RegistryServer(b"{}", faults=[Fault("repeat_previous_page")])
