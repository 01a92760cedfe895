"""A feed's OCPI Tariffs on the wire: fetched right after its locations, paged or one request per id, on the
same host clock and auth, stored raw per feed and day; a failed tariffs fetch keeps the locations."""

import json
import time

import pytest

from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.storage import DataDir
from pipeline.sandbox.uk_ocpi import LOCATIONS_PATH, TARIFFS_PATH, OcpiOperatorServer, make_locations
from pipeline.sources.uk_ocpi.client import OcpiFeeds
from pipeline.sources.uk_ocpi.feeds import Feed, FeedListError, load_feeds
from pipeline.sources.uk_ocpi.fetch import _read
from pipeline.sources.uk_ocpi.hosts import HostSchedule
from pipeline.sources.uk_ocpi.status import feed_status, feed_zone
from pipeline.sources.uk_ocpi.tariff_fetch import tariff_endpoint
from pipeline.sources.uk_ocpi.tariff_raw import TARIFF_FIELDS, stored_tariffs, tariff_zone

SETTINGS = HttpSettings(max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, read_timeout_s=5)
DAY = today_key()
TOKEN, TOKEN_ENV = "tariff-token-not-for-logs", "OCPI_TARIFF_TEST_TOKEN"  # fake


def tariffs(*ids: str) -> list[dict]:
    return [
        {
            "id": tariff_id,
            "currency": "GBP",
            "elements": [{"price_components": [{"type": "ENERGY", "price": n}]}],
        }
        for n, tariff_id in enumerate(ids, start=1)
    ]


def location(*connectors: dict) -> dict:
    return {"id": "L1", "evses": [{"uid": "E1", "connectors": list(connectors)}]}


def read(tmp_path, feed: Feed):
    """Fetch `feed` (locations, then tariffs) as the fetch step does; (outcome, data dir)."""
    data_dir = DataDir(path=str(tmp_path))
    hosts = HostSchedule([feed, *([tariff_endpoint(feed)] if feed.tariffs_url else [])])
    outcome = _read(feed, DAY, OcpiFeeds(http=SETTINGS), data_dir, clock=hosts.clock(feed), hosts=hosts)
    return outcome, data_dir


def tariff_requests(server) -> list[str]:
    return [path for path, _ in server.requests if path.startswith(TARIFFS_PATH)]


def test_paged_tariffs_are_stored_page_by_page_after_the_locations(tmp_path):
    published = tariffs(*(f"T{n}" for n in range(12)))
    locations = make_locations("op", 3, seed=1)
    with OcpiOperatorServer(locations, page_size=5, tariffs=published, tariffs_mode="paged") as server:
        feed = Feed(operator="op", name="Op", url=server.url, tariffs_url=f"{server.base_url}{TARIFFS_PATH}")
        outcome, data_dir = read(tmp_path, feed)
    assert (outcome.error, outcome.tariffs_error) == ("", "")
    assert [path for path, _ in server.requests] == [
        LOCATIONS_PATH,
        TARIFFS_PATH,
        f"{TARIFFS_PATH}?offset=5&limit=5",
        f"{TARIFFS_PATH}?offset=10&limit=5",
    ]
    snapshot = tariff_zone(data_dir, feed).snapshot(DAY)
    assert snapshot.names == ["page-000000.json", "page-000001.json", "page-000002.json"]
    assert snapshot.notes["records"] == 12
    assert stored_tariffs(data_dir, feed, DAY) == published
    assert str(tmp_path / "raw" / "uk_ocpi_tariffs" / "op") in str(snapshot.folder)


def test_per_id_tariffs_ask_once_per_distinct_id_quoted_with_the_feeds_secret(tmp_path, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    connectors = (
        {"id": "1", "tariff_ids": ["A B/1", "T2"]},
        {"id": "2", "tariff_ids": ["a b/1"]},  # the same id, another case: not asked again
        {"id": "3", "tariff_id": "missing"},  # OCPI 2.1.1's one id; no feed publishes it
        {"id": "4"},
    )
    published = tariffs("a b/1", "t2", "T3")
    with OcpiOperatorServer(
        [location(*connectors)], tariffs=published, tariffs_mode="per_id", token=TOKEN
    ) as server:
        url = f"{server.base_url}{TARIFFS_PATH}/{{tariff_id}}"
        feed = Feed(operator="op", name="Op", url=server.url, tariffs_url=url, token_env=TOKEN_ENV)
        outcome, data_dir = read(tmp_path, feed)
    assert (outcome.error, outcome.tariffs_error) == ("", "")
    assert tariff_requests(server) == [
        f"{TARIFFS_PATH}/A%20B%2F1",
        f"{TARIFFS_PATH}/T2",
        f"{TARIFFS_PATH}/missing",
    ]
    assert [h.get("authorization") for h in server.seen_headers] == [f"Token {TOKEN}"] * 4
    snapshot = tariff_zone(data_dir, feed).snapshot(DAY)
    assert snapshot.notes["missing_tariff_ids"] == ["missing"]
    assert json.loads(snapshot.read_bytes("page-000002.json")) == {
        "data": None,
        "tariff_id": "missing",
        "missing": "HTTP 404",
    }
    assert stored_tariffs(data_dir, feed, DAY) == published[:2]


def test_a_failed_tariffs_fetch_keeps_the_locations_and_records_why(tmp_path):
    locations = make_locations("op", 4, seed=2)
    with OcpiOperatorServer(
        locations, tariffs=tariffs("T1"), tariffs_mode="paged", tariffs_down=True
    ) as server:
        feed = Feed(operator="op", name="Op", url=server.url, tariffs_url=f"{server.base_url}{TARIFFS_PATH}")
        outcome, data_dir = read(tmp_path, feed)
    assert outcome.error == ""
    assert outcome.tariffs_error.startswith("UpstreamError: ")
    assert "HTTP 500" in outcome.tariffs_error
    assert feed_zone(data_dir, feed).snapshot(DAY).complete
    assert not tariff_zone(data_dir, feed).snapshot(DAY).complete
    assert stored_tariffs(data_dir, feed, DAY) is None
    row = feed_status([feed], {"op": outcome}, data_dir, DAY, max_drop=0.2).iloc[0]
    assert (bool(row["included"]), row["error"], row["tariffs_error"]) == (True, "", outcome.tariffs_error)


@pytest.mark.parametrize("style", ["nested_envelope", "data_document"])
def test_tariffs_in_the_locations_document_are_read_from_it(tmp_path, style):
    published = tariffs("M1", "M2")
    with OcpiOperatorServer(make_locations("op", 3, seed=3), style=style, tariffs=published) as server:
        feed = Feed(operator="op", name="Op", url=server.url)
        outcome, data_dir = read(tmp_path, feed)
    assert outcome.error == ""
    assert tariff_requests(server) == []
    assert stored_tariffs(data_dir, feed, DAY) == published


def test_a_paged_feed_without_tariffs_url_has_none_and_a_day_not_stored_has_none(tmp_path):
    with OcpiOperatorServer(make_locations("op", 3, seed=3), tariffs=tariffs("T1")) as server:
        feed = Feed(operator="op", name="Op", url=server.url)
        _, data_dir = read(tmp_path, feed)
    assert stored_tariffs(data_dir, feed, DAY) == []
    assert stored_tariffs(data_dir, feed, "2020-01-01") == []
    with_url = feed.model_copy(update={"tariffs_url": "http://127.0.0.1:9/t"})
    assert stored_tariffs(data_dir, with_url, DAY) is None


def test_tariffs_share_the_hosts_clock_with_the_locations(tmp_path):
    published = tariffs(*(f"T{n}" for n in range(4)))
    with OcpiOperatorServer(
        make_locations("op", 4, seed=4),
        page_size=2,
        tariffs=published,
        tariffs_mode="paged",
        min_interval_s=0.15,  # 403 to a request arriving sooner
    ) as server:
        url = f"{server.base_url}{TARIFFS_PATH}"
        feed = Feed(operator="op", name="Op", url=server.url, tariffs_url=url, min_interval_s=0.15)
        hosts = HostSchedule([feed, tariff_endpoint(feed)])
        assert hosts.clock(tariff_endpoint(feed)) is hosts.clock(feed)
        started = time.monotonic()
        outcome, data_dir = read(tmp_path, feed)
    assert (outcome.error, outcome.tariffs_error) == ("", "")
    assert [status for _, status in server.requests] == [200] * 4  # 2 pages of locations, 2 of tariffs
    assert time.monotonic() - started >= 3 * 0.15
    assert stored_tariffs(data_dir, feed, DAY) == published


def test_a_tariffs_url_on_another_host_gets_that_hosts_clock():
    feed = Feed(operator="op", name="Op", url="https://a.test/l", tariffs_url="https://b.test/t")
    hosts = HostSchedule([feed, tariff_endpoint(feed)], hosts={"b.test": 2.0})
    assert hosts.intervals == {"a.test": 0.0, "b.test": 2.0}
    assert hosts.clock(tariff_endpoint(feed)) is not hosts.clock(feed)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("tariffs_from: [zz]", "'zz' is not another feed of the list."),
        ("tariffs_from: [a]", "'a' is not another feed of the list."),
    ],
)
def test_tariffs_from_must_name_other_feeds_of_the_list(tmp_path, entry, problem):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - {operator: b, name: B, url: 'https://b.test/l'}\n"
        f"  - {{operator: a, name: A, url: 'https://a.test/l', {entry}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(FeedListError) as error:
        load_feeds(path)
    assert str(error.value) == f"The feed list {path}, entry 2 ('a'), key `tariffs_from`: {problem}"


def test_tariffs_url_and_tariffs_from_load_from_the_list(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - {operator: evolt, name: Evolt, url: 'https://e.test/l', tariffs_url: 'https://e.test/t'}\n"
        "  - {operator: pogo, name: PoGo, url: 'https://e.test/p', tariffs_from: [evolt]}\n",
        encoding="utf-8",
    )
    evolt, pogo = load_feeds(path)
    assert (evolt.tariffs_url, evolt.tariffs_from) == ("https://e.test/t", ())
    assert (pogo.tariffs_url, pogo.tariffs_from) == (None, ("evolt",))


def test_tariff_fields_name_the_tariff_its_elements_and_their_components():
    names = [column.name for column in TARIFF_FIELDS.columns]
    assert names[:2] == ["id", "currency"]
    assert "elements[].restrictions" in names
    assert "elements[].price_components[].price" in names
