"""The fake eConnect API pages, authenticates and logs like the real one; its stations are dirty at the
promised rates."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import requests

from pipeline.sandbox import BUSINESS_PARTNER, PASSWORD, USERNAME

FORMULA_START = ("=", "+", "-", "@")


def _between(value: int, low: int, high: int) -> bool:
    return low <= value <= high


def test_pages_of_100_cover_every_station_once(start_econnect, get_page, stations):
    server = start_econnect()
    ids: list[str] = []
    for page in range(13):
        body = get_page(server, page).json()
        assert body["number"] == body["pageable"]["pageNumber"] == page
        assert body["size"] == body["pageable"]["pageSize"] == 100
        assert body["totalElements"] == 1234
        assert body["totalPages"] == 13
        assert body["first"] is (page == 0)
        assert body["last"] is (page == 12)
        assert body["numberOfElements"] == len(body["content"]) == (34 if page == 12 else 100)
        ids += [station["id"] for station in body["content"]]
    assert ids == [station["id"] for station in stations]
    assert len(set(ids)) == 1234


def test_page_after_the_last_is_empty(start_econnect, get_page):
    response = get_page(start_econnect(), 13)
    assert response.status_code == 200
    body = response.json()
    assert body["content"] == []
    assert body["empty"] is True
    assert body["last"] is True
    assert body["numberOfElements"] == 0
    assert body["totalElements"] == 1234


def test_size_is_clamped_and_response_is_json_with_length(start_econnect, get_page):
    response = get_page(start_econnect(page_size_max=100), 0, size=1000)
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.json()["size"] == 100
    assert len(response.json()["content"]) == 100


@pytest.mark.parametrize("auth", [(USERNAME, "wrong"), ("someone", PASSWORD), None])
def test_bad_or_missing_credentials_get_401(start_econnect, get_page, auth):
    server = start_econnect()
    response = get_page(server, 0, auth=auth)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert server.requests[-1][1] == 401


def test_unknown_business_partner_gets_403(start_econnect):
    server = start_econnect()
    url = f"{server.base_url}/masterdata/cpos/BP-OTHER/chargingstations?page=0&size=10"
    response = requests.get(url, auth=(USERNAME, PASSWORD), timeout=5)
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


def test_unknown_path_and_malformed_paging(start_econnect, get_page):
    server = start_econnect()
    assert requests.get(f"{server.base_url}/nope", timeout=5).status_code == 404
    assert get_page(server, "x").status_code == 400
    assert get_page(server, -1).status_code == 400


def test_request_log_records_path_and_status(start_econnect, get_page):
    server = start_econnect()
    get_page(server, 2, size=5)
    get_page(server, 0, auth=None)
    assert server.requests == [
        (f"/masterdata/cpos/{BUSINESS_PARTNER}/chargingstations?page=2&size=5", 200),
        (f"/masterdata/cpos/{BUSINESS_PARTNER}/chargingstations?page=0&size=100", 401),
    ]


def test_concurrent_requests_are_all_served(start_econnect, get_page):
    server = start_econnect(latency_s=0.05)
    with ThreadPoolExecutor(max_workers=13) as pool:
        bodies = list(pool.map(lambda page: get_page(server, page).json(), range(13)))
    assert sum(len(body["content"]) for body in bodies) == 1234
    assert len(server.requests) == 13


def test_drift_repeats_exactly_one_station_on_the_next_page(start_econnect, get_page, stations):
    server = start_econnect(drift_after_page=3)
    pages = [get_page(server, page).json() for page in range(14)]
    ids = [station["id"] for body in pages for station in body["content"]]
    page3 = [station["id"] for station in pages[3]["content"]]
    page4 = [station["id"] for station in pages[4]["content"]]
    assert set(page3) & set(page4) == {page3[-1]} == {page4[0]}
    assert len(ids) == 1235
    assert len(set(ids)) == 1234  # the new station sits on page 0, already fetched: it is missed
    assert pages[4]["totalElements"] == 1235
    assert len(stations) == 1234  # the caller's list is never mutated


def test_stopped_server_refuses_connections(start_econnect):
    server = start_econnect()
    base_url = server.base_url
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url, timeout=2)


def test_station_ids_and_shape(stations):
    assert len(stations) == 1234
    assert len({station["id"] for station in stations}) == 1234
    assert all(re.fullmatch(r"DE\*EBS\*E\d{6}", station["id"]) for station in stations)
    first = stations[0]
    assert {"id", "name", "address", "evses", "latitude", "longitude", "operatorId"} <= set(first)
    assert set(first["address"]) == {"street", "city", "zip", "country"}
    assert all(evse["evseId"].startswith(first["id"]) for evse in first["evses"])


def test_station_model_info_dirt(stations):
    models = [station.get("modelInfo", "<missing>") for station in stations]
    assert _between(models.count(None), 25, 50)  # ~3 %
    assert _between(models.count("<missing>"), 6, 20)  # ~1 %
    assert _between(models.count(""), 6, 20)  # ~1 %
    formulas = [m for m in models if m and m != "<missing>" and m.startswith(FORMULA_START)]
    assert _between(len(formulas), 3, 5)
    assert '=HYPERLINK("http://evil.example","click")' in formulas
    assert _between(len({m for m in models if m and m not in formulas and m != "<missing>"}), 10, 14)


def test_station_type_and_state(stations):
    types = Counter(station["type"] for station in stations)
    assert set(types) == {"AC", "DC", None}
    assert _between(types[None], 12, 37)
    states = Counter(station.get("state", "<missing>") for station in stations)
    assert set(states) == {
        "OPERATIONAL",
        "PLANNED",
        "IN_INSTALLATION",
        "FAULTED",
        "DECOMMISSIONED",
        None,
        "<missing>",
    }
    assert states.most_common(1)[0][0] == "OPERATIONAL"
    assert _between(states[None], 12, 37)
    assert _between(states["<missing>"], 6, 20)


def test_install_dates_mix_iso_forms_and_garbage(stations):
    dates = [station["installDate"] for station in stations]
    forms = {
        "date": r"\d{4}-\d\d-\d\d",
        "zulu": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
        "millis": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        "micros_offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d",
        "naive": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
    }
    counts = {name: sum(bool(d and re.fullmatch(p, d)) for d in dates) for name, p in forms.items()}
    assert all(count > 100 for count in counts.values()), counts
    assert _between(dates.count(None), 12, 37)
    garbage = [d for d in dates if d is not None and not re.match(r"\d{4}-\d\d-\d\d", d)]
    assert set(garbage) == {"31/02/2021", "not a date", ""}
    assert _between(len(garbage), 6, 20)  # ~1 %
    years = {date.fromisoformat(d[:10]).year for d in dates if d and re.match(r"\d{4}-", d)}
    assert min(years) == 2017 and max(years) == 2025
