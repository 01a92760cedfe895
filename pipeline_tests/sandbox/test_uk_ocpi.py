"""The fake UK OCPI operators answer in exactly their style's wire shape, enforce token, interval and failure
as declared, list themselves in the feed list, and serve locations carrying every dirty case exactly."""

from __future__ import annotations

import base64
import json
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pipeline.sandbox import Sandbox
from pipeline.sandbox._ocpi_tariffs import tariff_set
from pipeline.sandbox.faults import Fault
from pipeline.sandbox.uk_ocpi import (
    CASE_POWER_W,
    CASES,
    DEFAULT_FEEDS,
    HOSTILE,
    LOCATIONS_PATH,
    OCPI_TOKEN,
    TARIFFS_PATH,
    FeedSpec,
    Hostile,
    OcpiOperatorServer,
    OcpiSandbox,
    location_cases,
    make_locations,
    make_tariffs,
)

ENVELOPE = {"data", "status_code", "status_message", "timestamp"}
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
VALID_STATUSES = {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED"}
VALID_STATUSES |= {"RESERVED", "UNKNOWN"}
LOWERED = VALID_STATUSES - {"REMOVED"}  # "removed" is its own case
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}


@pytest.fixture(scope="module")
def locations() -> list[dict]:
    return make_locations("sandbox_link", 45, seed=23)


@pytest.fixture
def start(locations: list[dict]) -> Iterator[Callable[..., OcpiOperatorServer]]:
    """``start(**kwargs)`` starts an operator over the 45 ``sandbox_link`` locations; all stop at teardown."""
    started: list[OcpiOperatorServer] = []

    def run(**kwargs: Any) -> OcpiOperatorServer:
        server = OcpiOperatorServer(kwargs.pop("locations", locations), **kwargs).start()
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def _get(url: str, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=5, **kwargs)


def test_ocpi_link_pages_by_offset_and_limit_with_a_followable_link(start, locations):
    server = start(style="ocpi_link", page_size=10)
    assert server.url == f"{server.base_url}{LOCATIONS_PATH}"
    response, pages, collected = _get(server.url), 0, []
    while True:
        pages += 1
        body = response.json()
        assert response.status_code == 200 and set(body) == ENVELOPE
        assert (body["status_code"], body["status_message"]) == (1000, "Success")
        assert STAMP.fullmatch(body["timestamp"])
        assert (response.headers["X-Total-Count"], response.headers["X-Limit"]) == ("45", "10")
        collected += body["data"]
        if "Link" not in response.headers:
            break
        expected = f'<{server.url}?offset={len(collected)}&limit=10>; rel="next"'
        assert response.headers["Link"] == expected
        response = _get(response.links["next"]["url"])
    assert (pages, collected) == (5, locations)
    assert [path for path, _ in server.requests] == [LOCATIONS_PATH] + [
        f"{LOCATIONS_PATH}?offset={offset}&limit=10" for offset in (10, 20, 30, 40)
    ]


def test_ocpi_link_never_serves_more_than_its_page_and_keeps_filters(start, locations):
    server = start(style="ocpi_link", page_size=10)
    response = _get(server.url, params={"date_from": "2025-01-01T00:00:00Z", "limit": 1000})
    assert response.json()["data"] == locations[:10]
    assert response.headers["X-Limit"] == "10"
    next_url = response.links["next"]["url"]
    assert next_url == f"{server.url}?date_from=2025-01-01T00%3A00%3A00Z&offset=10&limit=10"
    small = _get(server.url, params={"offset": 40, "limit": 3})
    assert small.json()["data"] == locations[40:43]
    assert small.headers["Link"] == f'<{server.url}?offset=43&limit=3>; rel="next"'
    last = _get(server.url, params={"offset": 43, "limit": 3})
    assert last.json()["data"] == locations[43:] and "Link" not in last.headers
    beyond = _get(server.url, params={"offset": 100})
    assert beyond.json()["data"] == [] and "Link" not in beyond.headers
    bad = _get(server.url, params={"offset": "x"})
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001


def test_ocpi_total_count_serves_fewer_than_asked_without_link(start, locations):
    server = start(style="ocpi_total_count", page_size=7)
    collected: list[dict] = []
    while True:
        response = _get(server.url, params={"offset": len(collected), "limit": 100})
        assert set(response.json()) == ENVELOPE
        assert response.headers["X-Total-Count"] == "45"
        assert response.headers["X-Limit"] == "0"
        assert "Link" not in response.headers
        data = response.json()["data"]
        assert len(data) == min(7, 45 - len(collected))
        collected += data
        if len(collected) >= int(response.headers["X-Total-Count"]):
            break
    assert collected == locations
    assert len(server.requests) == 7


def test_unpaged_styles_serve_everything_in_one_document(start, locations):
    keyed = _get(start(style="locations_key").url, params={"offset": 5, "limit": 2})
    assert keyed.json() == {"locations": locations}
    assert not {"Link", "X-Total-Count", "X-Limit"} & set(keyed.headers)
    tariffs = make_tariffs("sandbox_link")
    document = _get(start(style="data_document", tariffs=tariffs).url).json()
    assert set(document) == ENVELOPE and document["status_code"] == 1000
    assert document["data"] == {"locations": locations, "tariffs": tariffs}
    assert [t["id"] for t in tariffs] == ["SLI-T1", "SLI-T2", "SLI-T3"]
    assert _get(start(style="bare_array").url).json() == locations


def test_token_is_required_exactly(start):
    server = start(style="ocpi_link", token=OCPI_TOKEN)
    for headers in ({}, {"Authorization": f"Bearer {OCPI_TOKEN}"}, {"Authorization": "Token wrong"}):
        response = _get(server.url, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert set(body) == {"status_code", "status_message", "timestamp"} and body["status_code"] == 2000
    response = _get(server.url, headers={"Authorization": f"Token {OCPI_TOKEN}"})
    assert response.status_code == 200 and len(response.json()["data"]) == 20
    assert [status for _, status in server.requests] == [401, 401, 401, 200]


def test_burst_gets_403_and_a_polite_client_passes(start):
    server = start(style="ocpi_link", min_interval_s=0.3)
    assert _get(server.url).status_code == 200
    too_soon = _get(server.url)
    assert too_soon.status_code == 403 and too_soon.headers["Content-Type"].startswith("text/html")
    time.sleep(0.3)
    assert _get(server.url).status_code == 200
    assert [status for _, status in server.requests] == [200, 403, 200]


def test_always_fail_and_status_code_envelopes(start):
    failing = start(always_fail=True)
    for _ in range(2):
        response = _get(failing.url)
        assert response.status_code == 500 and response.json()["status_code"] == 3000
    rejected = _get(start(status_code=2001).url)
    assert rejected.status_code == 200
    body = rejected.json()
    assert set(body) == {"status_code", "status_message", "timestamp"}
    assert (body["status_code"], body["status_message"]) == (2001, "Invalid or missing parameters")
    assert _get(f"{failing.base_url}/ocpi/2.2.1/tariffs").status_code == 404


def test_faults_by_page_and_by_request(start, locations):
    server = start(page_size=10, faults={1: [Fault("truncated_body"), Fault("repeat_previous_page")]})
    first = _get(server.url)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _get(first.links["next"]["url"])
    assert _get(first.links["next"]["url"]).content == first.content
    assert _get(first.links["next"]["url"]).json()["data"] == locations[10:20]
    by_request = start(
        style="bare_array", fault_key="request", faults={2: [Fault("status_503", retry_after="1")]}
    )
    statuses = [_get(by_request.url).status_code for _ in range(3)]
    assert statuses == [200, 503, 200]
    broken = start(style="data_document", faults={0: [Fault("content_not_list")]})
    assert _get(broken.url).json()["data"]["locations"] == {"oops": 1}


def _connectors(locations: list[dict]) -> list[dict]:
    return [c for location in locations for evse in location["evses"] for c in evse["connectors"]]


def _watts(connector: dict) -> int:
    """The oracle: max_electric_power when given and positive, else V x A x phases."""
    given = int(connector.get("max_electric_power") or 0)
    phases = PHASES[connector["power_type"]]
    return given or int(connector["max_voltage"]) * int(connector["max_amperage"]) * phases


def _dirty_counts(locations: list[dict]) -> dict[str, int]:
    evses = [evse for location in locations for evse in location["evses"]]
    statuses = Counter(evse["status"] for evse in evses)
    connectors = _connectors(locations)
    coordinates = [location["coordinates"] for location in locations if "coordinates" in location]
    postcodes = Counter(location.get("postal_code") for location in locations)
    watts = Counter(_watts(c) for c in connectors)
    return {
        "no_id": sum("id" not in location for location in locations),
        "no_publish": sum("publish" not in location for location in locations),
        "publish_false": sum(location.get("publish") is False for location in locations),
        "lower_status": sum(n for s, n in statuses.items() if s.islower() and s.upper() in LOWERED),
        "WORKING": statuses["WORKING"],
        "REMOVED": statuses["REMOVED"],
        "removed": statuses["removed"],
        "no_power": sum("max_electric_power" not in c for c in connectors),
        "zero_power": sum(c.get("max_electric_power") == 0 for c in connectors),
        "string_numbers": sum(isinstance(c["max_voltage"], str) for c in connectors),
        "evse_id_only": sum("uid" not in e and "evse_id" in e for e in evses),
        "evse_no_ids": sum("uid" not in e and "evse_id" not in e for e in evses),
        "no_coordinates": len(locations) - len(coordinates),
        "swapped": sum(abs(float(c["latitude"])) < 10 and float(c["longitude"]) > 45 for c in coordinates),
        "unsigned_longitude": sum(
            float(c["latitude"]) > 45 and float(c["longitude"]) > 0.3 for c in coordinates
        ),
        "spaced_postcode": postcodes[" tw6  2rq "],
        "unspaced_postcode": postcodes["tw62rq"],
        "no_postcode": postcodes[None],
        **{f"{w}_W": watts[w] for w in (7400, 22000, 22080, 150000)},
    }


EXPECTED_DIRTY = {
    **dict.fromkeys(["no_id", "no_publish", "publish_false", "WORKING", "REMOVED", "removed"], 1),
    **dict.fromkeys(["zero_power", "evse_id_only", "evse_no_ids", "no_coordinates", "swapped"], 1),
    **dict.fromkeys(["unsigned_longitude", "spaced_postcode", "unspaced_postcode", "no_postcode"], 1),
    **{"lower_status": 2, "no_power": 5, "string_numbers": 2},
    **{"7400_W": 1, "22000_W": 1, "22080_W": 2, "150000_W": 2},  # 22080 and 150000 also derived once
}


def test_every_default_operator_carries_every_dirty_case_exactly():
    sandbox = OcpiSandbox()
    assert list(sandbox.locations) == [spec.operator for spec in DEFAULT_FEEDS]
    plain = {spec.operator for spec in DEFAULT_FEEDS if set(spec.variants) <= {"priced"}}  # tariffs only
    assert set(sandbox.locations) - plain == {"sandbox_nested", "sandbox_back_office"}  # real-feed variants
    for operator in plain:
        locations = sandbox.locations[operator]
        assert len(locations) >= sum(CASES.values())
        assert _dirty_counts(locations) == EXPECTED_DIRTY, operator


def test_power_cases_cover_every_power_type_and_the_boundary_powers(locations):
    cases = location_cases("sandbox_link", 45, seed=23)
    assert Counter(cases.values()) == CASES
    derived = {}
    for index, case in cases.items():
        connector = locations[index]["evses"][0]["connectors"][0]
        if case in CASE_POWER_W:
            assert _watts(connector) == CASE_POWER_W[case]
        if "max_electric_power" not in connector:
            derived[connector["power_type"]] = _watts(connector)
    assert derived == {
        "AC_3_PHASE": 22080,
        "AC_2_PHASE": 14720,
        "AC_2_PHASE_SPLIT": 9600,
        "AC_1_PHASE": 3680,
        "DC": 150000,
    }
    unsigned = locations[next(i for i, c in cases.items() if c == "longitude_unsigned")]
    assert not unsigned["coordinates"]["longitude"].startswith("-")


def test_clean_records_follow_ocpi_2_2_1(locations):
    cases = location_cases("sandbox_link", 45, seed=23)
    clean = [location for index, location in enumerate(locations) if index not in cases]
    assert len(clean) == 45 - sum(CASES.values())
    ids = [location["id"] for location in locations if "id" in location]
    assert len(set(ids)) == len(ids) == 44
    for location in clean:
        assert (location["country_code"], location["party_id"], location["country"]) == ("GB", "SLI", "GBR")
        assert location["publish"] is True and location["time_zone"] == "Europe/London"
        assert STAMP.fullmatch(location["last_updated"])
        latitude, longitude = location["coordinates"]["latitude"], location["coordinates"]["longitude"]
        assert re.fullmatch(r"-?\d{1,2}\.\d{6}", latitude) and re.fullmatch(r"-?\d{1,3}\.\d{6}", longitude)
        assert 49.9 < float(latitude) < 60.9 and -8.7 < float(longitude) < 1.8
        assert re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", location["postal_code"])
        for evse in location["evses"]:
            assert re.fullmatch(r"GB\*SLI\*E\d{5}\*\d", evse["evse_id"]) and evse["uid"]
            assert evse["status"] in VALID_STATUSES - {"REMOVED"}
            assert evse["last_updated"] <= location["last_updated"]
            for connector in evse["connectors"]:
                assert connector["power_type"] in PHASES and connector["format"] in ("SOCKET", "CABLE")
                assert (
                    isinstance(connector["max_electric_power"], int) and connector["max_electric_power"] > 0
                )
                assert connector["max_electric_power"] not in (7400, 22000, 22080, 150000)


def test_same_seed_same_data_other_seed_or_operator_other_data(locations):
    assert make_locations("sandbox_link", 45, seed=23) == locations
    assert make_locations("sandbox_link", 45, seed=24) != locations
    assert make_locations("sandbox_other", 45, seed=23) != locations
    assert [len(make_locations("x", n, seed=1)) for n in (0, 1, 10)] == [0, 1, 10]


def test_feed_list_names_every_operator_with_its_declared_needs():
    with OcpiSandbox() as sandbox:
        path = sandbox.feeds_path
        text = path.read_text(encoding="utf-8")
        assert "\nfeeds:\n  - operator: sandbox_link\n    name: Sandbox Link Ltd\n    url: http://" in text
        servers = sandbox.servers
        expected = [
            {"operator": spec.operator, "name": spec.name, "url": servers[spec.operator].url}
            for spec in DEFAULT_FEEDS
        ]
        expected[5]["token_env"] = "SANDBOX_OCPI_TOKEN"
        expected[6]["min_interval_s"] = 0.3
        base = {spec.operator: servers[spec.operator].base_url for spec in DEFAULT_FEEDS}
        expected[0]["tariffs_url"] = f"{base['sandbox_link']}/ocpi/2.2.1/tariffs"
        expected[1]["tariffs_url"] = f"{base['sandbox_total_count']}/ocpi/2.2.1/tariffs"
        expected[5]["tariffs_url"] = f"{base['sandbox_token']}/ocpi/2.2.1/tariffs/{{tariff_id}}"
        expected[6]["tariffs_from"] = ["sandbox_link"]
        assert yaml.safe_load(text) == {"feeds": expected}
        assert all(
            re.fullmatch(r"http://127\.0\.0\.1:\d+/ocpi/2\.2\.1/locations", f["url"]) for f in expected
        )
        assert sandbox.env() == {"UK_OCPI_FEEDS": str(path), "SANDBOX_OCPI_TOKEN": OCPI_TOKEN}
        styles = {operator: server.style for operator, server in servers.items()}
        assert styles["sandbox_down"] == "ocpi_link" and servers["sandbox_down"].always_fail
        assert len(set(styles.values())) == 7
    assert not path.exists() and not path.parent.exists()


def test_a_polite_client_reads_every_default_feed_that_works():
    with OcpiSandbox() as sandbox:
        env = sandbox.env()
        for feed in yaml.safe_load(Path(env["UK_OCPI_FEEDS"]).read_text())["feeds"]:
            headers = {"Authorization": f"Token {env[feed['token_env']]}"} if "token_env" in feed else {}
            url: str | None = feed["url"]
            statuses = []
            while url:
                response = _get(url, headers=headers)
                statuses.append(response.status_code)
                url = response.links.get("next", {}).get("url")
                time.sleep(feed.get("min_interval_s", 0))
            assert statuses[0] == (500 if feed["operator"] == "sandbox_down" else 200), feed["operator"]
            assert set(statuses) <= {200, 500}


def test_custom_specs_start_many_cheap_operators():
    specs = [
        FeedSpec(f"bench_{n:02d}", f"Bench {n}", locations=30, page_size=3, latency_s=0.025) for n in range(3)
    ]
    specs.append(FeedSpec("given", "Given Ltd", "bare_array", locations=[{"id": "X"}], token="other"))
    with OcpiSandbox(specs) as sandbox:
        assert list(sandbox.servers) == ["bench_00", "bench_01", "bench_02", "given"]
        assert {operator: len(rows) for operator, rows in sandbox.locations.items()}["bench_01"] == 30
        assert sandbox.env()["SANDBOX_OCPI_TOKEN_GIVEN"] == "other"
        feeds = yaml.safe_load(sandbox.feeds_path.read_text())["feeds"]
        assert feeds[3]["token_env"] == "SANDBOX_OCPI_TOKEN_GIVEN"
        started, url, pages = time.monotonic(), sandbox.servers["bench_00"].url, 0
        while url:
            response, pages = _get(url), pages + 1
            url = response.links.get("next", {}).get("url")
        assert pages == 10 and time.monotonic() - started >= 0.25
    with pytest.raises(ValueError, match="unique"):
        OcpiSandbox([FeedSpec("a", "A"), FeedSpec("a", "B")])
    with pytest.raises(ValueError, match="slug"):
        FeedSpec("Not A Slug", "X")
    with pytest.raises(ValueError, match="style"):
        FeedSpec("a", "A", style="xml")


def test_sandbox_starts_the_ocpi_operators_with_the_rest():
    with Sandbox(stations=5, devices=5) as sandbox:
        env = sandbox.env()
        assert env["UK_OCPI_FEEDS"] == str(sandbox.ocpi.feeds_path)
        assert env["SANDBOX_OCPI_TOKEN"] == OCPI_TOKEN
        feeds = yaml.safe_load(Path(env["UK_OCPI_FEEDS"]).read_text())["feeds"]
        assert _get(feeds[0]["url"]).json()["data"] == sandbox.ocpi.locations["sandbox_link"][:10]
    with Sandbox(stations=5, devices=5, ocpi=False) as sandbox:
        env = sandbox.env()
        assert "SANDBOX_OCPI_TOKEN" not in env
        # never unset: a child process would then read the bundled list of real operators
        assert yaml.safe_load(Path(env["UK_OCPI_FEEDS"]).read_text()) == {"feeds": []}
        with pytest.raises(RuntimeError, match="not running"):
            _ = sandbox.ocpi


# --- The envelopes and quirks of real UK feeds -------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"at:{offset}".encode()).decode()


def test_unpaged_real_envelopes_nested_and_wrapper(start, locations):
    tariffs = make_tariffs("sandbox_link")
    nested = _get(start(style="nested_envelope", tariffs=tariffs).url, params={"offset": 5}).json()
    assert set(nested) == {"data"} and set(nested["data"]) == {"locations", "tariffs"}
    assert set(nested["data"]["locations"]) == ENVELOPE and nested["data"]["locations"]["data"] == locations
    assert nested["data"]["tariffs"]["data"] == tariffs and nested["data"]["tariffs"]["status_code"] == 1000
    wrapper = _get(start(style="data_wrapper").url).json()
    assert wrapper == {"name": "OK", "message": "ok", "data": locations, "error": None, "forcelogout": False}


def test_ocpi_camel_pages_like_the_spec_with_camel_case_status_keys(start, locations):
    server = start(style="ocpi_camel", page_size=20)
    first = _get(server.url)
    assert set(first.json()) == {"data", "statusCode", "statusMessage", "timestamp"}
    assert (first.json()["statusCode"], first.json()["data"]) == (1000, locations[:20])
    assert first.headers["Link"] == f'<{server.url}?offset=20&limit=20>; rel="next"'
    rejected = _get(start(style="ocpi_camel", status_code=2001).url).json()
    assert (rejected["data"], rejected["statusCode"], rejected["statusMessage"]) == (
        None,
        2001,
        "Invalid or missing parameters",
    )


def test_nested_envelope_says_an_error_inside_the_document(start):
    body = _get(start(style="nested_envelope", status_code=2003).url).json()
    inner = body["data"]["locations"]
    assert (inner["data"], inner["status_code"], inner["status_message"]) == (None, 2003, "Unknown Location")


@pytest.mark.parametrize(
    ("quirks", "nexts"),
    [
        ((), [_cursor(20), _cursor(40), None]),
        (("cursor_url",), ["{url}?cursor=" + _cursor(20), "{url}?cursor=" + _cursor(40), None]),
        (("cursor_relative",), ["?cursor=" + _cursor(20), "?cursor=" + _cursor(40), None]),
    ],
)
def test_items_cursor_pages_by_an_opaque_cursor(start, locations, quirks, nexts):
    server = start(style="items_cursor", page_size=20, quirks=quirks)
    bodies = [_get(server.url).json()]
    while bodies[-1]["next"]:
        token = bodies[-1]["next"].partition("?cursor=")[2] or bodies[-1]["next"]
        bodies.append(_get(server.url, params={"cursor": token}).json())
    assert [set(body) for body in bodies] == [{"items", "next"}] * 3
    assert [body["next"] for body in bodies] == [n.format(url=server.url) if n else None for n in nexts]
    assert [item for body in bodies for item in body["items"]] == locations


def test_ocpi_offset_only_sends_neither_link_nor_total(start, locations):
    server = start(style="ocpi_offset_only", page_size=20)
    response = _get(server.url, params={"offset": 40, "limit": 10})
    assert response.json()["data"] == locations[40:] and response.headers["X-Limit"] == "10"
    assert not {"Link", "X-Total-Count"} & set(response.headers)
    bare = _get(start(style="ocpi_offset_only", page_size=20, quirks={"no_x_limit"}).url)
    assert not {"Link", "X-Total-Count", "X-Limit"} & set(bare.headers) and len(bare.json()["data"]) == 20


@pytest.mark.parametrize(
    ("quirks", "link"),
    [
        ({"rel_upper"}, '<{url}?offset=20&limit=20>; rel="NEXT"'),
        ({"rel_list"}, '<{url}?offset=20&limit=20>; rel="next last"'),
        ({"relative_link"}, '<locations?offset=20&limit=20>; rel="next"'),
        ({"wp_link"}, '<{url}?offset=20&limit=20>; rel="next", <{base}/wp-json/>; rel="https://api.w.org/"'),
    ],
)
def test_link_quirks(start, quirks, link):
    server = start(style="ocpi_link", page_size=20, quirks=quirks)
    assert _get(server.url).headers["Link"] == link.format(url=server.url, base=server.base_url)


def test_bom_shrinking_total_and_ignored_offset(start, locations):
    with_bom = _get(start(style="bare_array", quirks={"bom"}).url)
    assert with_bom.content.startswith(b"\xef\xbb\xbf[") and json.loads(with_bom.content[3:]) == locations
    shrinking = start(style="ocpi_link", page_size=20, quirks={"shrinking_total"})
    first, second = _get(shrinking.url), _get(shrinking.url, params={"offset": 20, "limit": 20})
    assert (first.headers["X-Total-Count"], second.headers["X-Total-Count"]) == ("45", "40")
    assert "Link" in first.headers and "Link" not in second.headers
    ignoring = start(style="ocpi_offset_only", page_size=20, quirks={"ignore_offset"})
    assert _get(ignoring.url, params={"offset": 20}).json()["data"] == locations[:20]
    with pytest.raises(ValueError, match="unknown quirks"):
        FeedSpec("a", "A", quirks=frozenset({"typo"}))


def test_a_secret_asked_in_another_header_or_as_a_query_parameter(start):
    by_header = start(style="bare_array", token=OCPI_TOKEN, auth_header="ec-subscription-key")
    assert _get(by_header.url, headers={"Authorization": f"Token {OCPI_TOKEN}"}).status_code == 401
    assert _get(by_header.url, headers={"ec-subscription-key": OCPI_TOKEN}).status_code == 200
    by_param = start(style="ocpi_link", page_size=20, token=OCPI_TOKEN, auth_param="apiKey")
    assert _get(by_param.url, params={"apiKey": "wrong"}).status_code == 401
    ok = _get(by_param.url, params={"apiKey": OCPI_TOKEN})
    assert ok.status_code == 200 and ok.headers["Link"].startswith(
        f"<{by_param.url}?apiKey={OCPI_TOKEN}&offset=20"
    )
    with pytest.raises(ValueError, match="need a token"):
        FeedSpec("a", "A", auth_param="apiKey")


def test_the_feed_list_names_each_auth_style():
    specs = [
        FeedSpec("by_header", "By Header", token="h", auth_header="ec-subscription-key"),
        FeedSpec("by_param", "By Param", token="p", auth_param="apiKey", quirks=frozenset({"bom"})),
    ]
    with OcpiSandbox(specs) as sandbox:
        feeds = yaml.safe_load(sandbox.feeds_path.read_text())["feeds"]
        env = sandbox.env()
    assert [{k: v for k, v in f.items() if k != "url"} for f in feeds] == [
        {"operator": "by_header", "name": "By Header", "token_env": "SANDBOX_OCPI_TOKEN_BY_HEADER",
         "header": "ec-subscription-key"},
        {"operator": "by_param", "name": "By Param", "token_env": "SANDBOX_OCPI_TOKEN_BY_PARAM",
         "query_param": "apiKey"},
    ]  # fmt: skip
    assert (env["SANDBOX_OCPI_TOKEN_BY_HEADER"], env["SANDBOX_OCPI_TOKEN_BY_PARAM"]) == ("h", "p")


def test_the_default_set_has_two_feeds_shaped_like_real_uk_feeds():
    sandbox = OcpiSandbox()
    nested, back_office = sandbox.locations["sandbox_nested"], sandbox.locations["sandbox_back_office"]
    assert [site["country"] for site in nested].count("AUS") == 1
    statuses = {evse["status"] for site in nested for evse in site["evses"]}
    assert {"OUT_OF_ORDER", "WORKING", "FAULTED"} & statuses
    connectors = [c for site in back_office for evse in site["evses"] for c in evse["connectors"]]
    assert all("max_voltage" not in c and "voltage" in c for c in connectors)
    assert all(isinstance(site["id"], int) for site in back_office if "id" in site)
    assert sum(str(site["evses"][0].get("uid")) == "1" for site in back_office) > 30


# --- Hostile operators (issue 19) ---------------------------------------------------------------------------

ELSEWHERE = "http://127.0.0.2:9"  # never contacted by these tests: only written into answers
P = LOCATIONS_PATH


def test_a_hostile_kind_must_be_known_and_its_page_and_size_sensible():
    with pytest.raises(ValueError, match=r"unknown hostile kind 'loop'; expected one of \['endless_page', "):
        Hostile("loop")
    with pytest.raises(ValueError, match="from_page must be >= 0 and bomb_bytes >= 3"):
        Hostile("gzip_bomb", bomb_bytes=2)
    with pytest.raises(ValueError, match="send_secret_to names a host follow_hosts does not"):
        FeedSpec("x", "X", token=OCPI_TOKEN, send_secret_to=("127.0.0.2",))
    assert sorted(HOSTILE) == ["endless_page", "gzip_bomb", "link_elsewhere", "redirect_elsewhere"]


def test_link_elsewhere_moves_the_next_page_to_the_other_origin_echoing_the_query(start, locations):
    server = start(page_size=10, hostile=Hostile("link_elsewhere", from_page=2, elsewhere=ELSEWHERE))
    first = _get(server.url, params={"apiKey": "echoed"})
    assert (
        first.headers["Link"] == f'<{server.url}?apiKey=echoed&offset=10&limit=10>; rel="next"'
    )  # page 1 home
    second = _get(server.url, params={"apiKey": "echoed", "offset": 10, "limit": 10})
    assert second.headers["Link"] == f'<{ELSEWHERE}{P}?apiKey=echoed&offset=20&limit=10>; rel="next"'
    assert second.json()["data"] == locations[10:20]
    cursor = start(
        style="items_cursor",
        page_size=10,
        quirks={"cursor_url"},
        hostile=Hostile("link_elsewhere", elsewhere=ELSEWHERE),
    )
    assert _get(cursor.url).json()["next"].startswith(f"{ELSEWHERE}{P}?cursor=")


def test_redirect_elsewhere_answers_302_to_the_same_path_and_query_there(start, locations):
    server = start(page_size=10, hostile=Hostile("redirect_elsewhere", elsewhere=ELSEWHERE))
    assert _get(server.url).json()["data"] == locations[:10]  # page 0 as usual
    moved = _get(server.url, params={"offset": 10, "limit": 10}, allow_redirects=False)
    assert (moved.status_code, moved.headers["Location"]) == (302, f"{ELSEWHERE}{P}?offset=10&limit=10")
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 302)]


def test_a_gzip_bomb_is_small_on_the_wire_and_expands_to_exactly_its_size(start):
    server = start(hostile=Hostile("gzip_bomb", from_page=0, bomb_bytes=5 << 20))
    response = _get(server.url, stream=True)
    wire = response.raw.read(decode_content=False)
    assert response.headers["Content-Encoding"] == "gzip" and len(wire) < 10_000
    body = zlib.decompress(wire, 31)
    assert len(body) == 5 << 20 and json.loads(body) == [0] * ((5 << 20) // 2 - 1)  # "[ 0,0,...,0]"


def test_an_endless_page_is_chunked_without_a_length_and_does_not_end(start, locations):
    server = start(page_size=10, hostile=Hostile("endless_page"))
    assert _get(server.url).json()["data"] == locations[:10]
    with _get(server.url, params={"offset": 10, "limit": 10}, stream=True) as response:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
        read = b""
        for chunk in response.iter_content(1 << 16):
            read += chunk
            if len(read) > 3 << 20:
                break
    assert read.startswith(b'{"data":[0,0,') and len(read) > 3 << 20
    assert server.requests == [(P, 200), (f"{P}?offset=10&limit=10", 200)]


def test_a_sandbox_mirrors_a_feed_leading_elsewhere_on_127_0_0_2_and_lists_its_follow_hosts():
    specs = [
        FeedSpec("plain", "Plain"),
        FeedSpec(
            "moved", "Moved", hostile=Hostile("redirect_elsewhere", from_page=0), follow_hosts=("127.0.0.2",)
        ),
        FeedSpec(
            "linked",
            "Linked",
            token=OCPI_TOKEN,
            hostile=Hostile("link_elsewhere"),
            follow_hosts=("127.0.0.2",),
            send_secret_to=("127.0.0.2",),
        ),
    ]
    with OcpiSandbox(specs) as feeds:
        mirrors, servers = feeds.mirrors, feeds.servers
        assert sorted(mirrors) == ["linked", "moved"]
        assert all(mirror.base_url.startswith("http://127.0.0.2:") for mirror in mirrors.values())
        moved = _get(servers["moved"].url)  # followed: the mirror serves the same locations, no token asked
        assert moved.json()["data"] == feeds.locations["moved"][:10]
        assert [path for path, _ in mirrors["moved"].requests] == [P]
        assert _get(mirrors["linked"].url).status_code == 401  # it asks for the token sent there
        link = _get(servers["linked"].url, headers={"Authorization": f"Token {OCPI_TOKEN}"}).headers["Link"]
        assert link.startswith(f"<{mirrors['linked'].url}?offset=10&limit=10>")
        assert servers["linked"].seen_headers[-1]["authorization"] == f"Token {OCPI_TOKEN}"
        listed = yaml.safe_load(feeds.feeds_path.read_text())["feeds"]
    assert [(f.get("follow_hosts"), f.get("send_secret_to")) for f in listed] == [
        (None, None),
        (["127.0.0.2"], None),
        (["127.0.0.2"], ["127.0.0.2"]),
    ]


def test_default_feeds_publish_tariffs_paged_per_id_for_others_or_not_at_all():
    with OcpiSandbox() as sandbox:
        servers = sandbox.servers
        link = requests.get(f"{servers['sandbox_link'].base_url}{TARIFFS_PATH}", timeout=5)
        ids = [tariff["id"] for tariff in link.json()["data"]]
        assert ids == [t["id"] for t in sandbox.tariffs("sandbox_link")][:10]  # its page size
        assert ids[:3] == [t["id"] for t in make_tariffs("sandbox_link")]
        assert link.headers["X-Total-Count"] == str(6 + len(tariff_set("x")))  # its 3, polite's 3, the cases
        polite = [t["id"] for t in make_tariffs("sandbox_polite")]
        assert [t["id"] for t in sandbox.tariffs("sandbox_link")][3:6] == polite
        token = servers["sandbox_token"]
        named = make_tariffs("sandbox_token")[1]["id"]
        auth = {"Authorization": f"Token {OCPI_TOKEN}"}
        one = requests.get(f"{token.base_url}{TARIFFS_PATH}/{named.lower()}", headers=auth, timeout=5)
        assert (one.status_code, one.json()["data"]["id"]) == (200, named)
        missing = requests.get(f"{token.base_url}{TARIFFS_PATH}/nope", headers=auth, timeout=5)
        assert (missing.status_code, missing.json()["status_code"]) == (404, 2004)
        assert requests.get(f"{token.base_url}{TARIFFS_PATH}/{named}", timeout=5).status_code == 401
        down = requests.get(f"{servers['sandbox_total_count'].base_url}{TARIFFS_PATH}", timeout=5)
        assert down.status_code == 500
        for operator in ("sandbox_polite", "sandbox_bare_array"):
            assert requests.get(f"{servers[operator].base_url}{TARIFFS_PATH}", timeout=5).status_code == 404
