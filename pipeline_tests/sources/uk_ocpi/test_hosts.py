"""Politeness per host, on the wire: one clock per host shared by its feeds, hosts read in parallel.

The fake hosts stamp every request's arrival and answer 403 to one that comes sooner than their
interval after the previous one to any of their feeds, as real shared platforms do after a burst.
"""

import time

import pytest
from dagster import materialize
from upath import UPath

from pipeline.orchestration.alerts import AlertWebhook
from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings, UpstreamError
from pipeline.resources.raw_zone import RawZone
from pipeline.resources.storage import DataDir
from pipeline.sandbox._ocpi_hosts import HostSpec, OcpiHosts
from pipeline.sources.uk_ocpi.client import OcpiFeeds
from pipeline.sources.uk_ocpi.feeds import Feed, load_feeds, load_hosts
from pipeline.sources.uk_ocpi.fetch import build_fetch_asset
from pipeline.sources.uk_ocpi.hosts import HostSchedule, host_intervals, host_key

DAY = "2025-06-01"
SETTINGS = HttpSettings(
    max_attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02, retry_after_max_s=5, read_timeout_s=5
)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Info.SmartCharging.uk/public_feed/locations/2463", "info.smartcharging.uk"),
        ("https://user:secret@api.example.org:8443/x?k=1", "api.example.org:8443"),
        ("https://example.org:443/x", "example.org"),
        ("http://example.org:80/x", "example.org"),
        ("http://example.org:443/x", "example.org:443"),
        ("http://127.0.0.1:8080/a", "127.0.0.1:8080"),
        ("http://[::1]:8080/a", "[::1]:8080"),
    ],
)
def test_a_feeds_host_is_its_lower_cased_host_name_with_a_port_other_than_the_default(url, key):
    assert host_key(url) == key


def feed(operator, url, interval=0.0):
    return Feed(operator=operator, name=operator.upper(), url=url, min_interval_s=interval)


FEEDS = [
    feed("a", "https://x.test/a", 1),
    feed("b", "https://X.test/b", 3),
    feed("c", "https://y.test/c"),
    feed("d", "https://z.test:8443/d", 0.5),
    feed("e", "https://y.test/e"),
]


def test_a_hosts_interval_is_the_strictest_of_its_entry_and_every_feed_on_it():
    hosts = {"x.test": 2.0, "y.test": 6.0, "z.test:8443": 0.2}
    assert host_intervals(FEEDS, hosts) == {"x.test": 3.0, "y.test": 6.0, "z.test:8443": 0.5}
    assert host_intervals(FEEDS) == {"x.test": 3.0, "y.test": 0.0, "z.test:8443": 0.5}


def test_the_feeds_of_a_host_share_one_clock_and_the_busiest_host_goes_first():
    schedule = HostSchedule(FEEDS, hosts={"y.test": 6.0})
    a, b, c, d, e = FEEDS
    assert schedule.clock(a) is schedule.clock(b) and schedule.clock(c) is schedule.clock(e)
    assert schedule.clock(a) is not schedule.clock(c) and schedule.clock(c).interval_s == 6.0
    groups = schedule.groups([e, d, a, c, b])
    assert {key: [f.operator for f in group] for key, group in groups.items()} == {
        "y.test": ["e", "c"],  # 2 feeds x 6 s
        "x.test": ["a", "b"],  # 2 x 3 s
        "z.test:8443": ["d"],
    }
    assert list(groups) == ["y.test", "x.test", "z.test:8443"]


def read_with(tmp_path, settings=SETTINGS):
    """`read(feed, clock)` storing the feed as the fetch asset does: its locations, or the error."""
    resource = OcpiFeeds(http=settings)

    def read(the_feed, clock):
        zone = RawZone(UPath(tmp_path) / the_feed.operator, "uk_ocpi")
        try:
            with zone.writing(DAY) as writer:
                return resource.fetch(the_feed, writer, clock=clock).records
        except UpstreamError as exc:
            return str(exc)

    return read


def run_hosts(tmp_path, sandbox, *, settings=SETTINGS, max_concurrency=8):
    feeds = load_feeds(sandbox.feeds_path)
    schedule = HostSchedule(feeds, hosts=load_hosts(sandbox.feeds_path))
    started = time.monotonic()
    results = schedule.run(feeds, read_with(tmp_path, settings), max_concurrency=max_concurrency)
    return dict(zip([f.operator for f in feeds], results, strict=True)), time.monotonic() - started


def operators(host):
    """The feed each request was for, in order of arrival."""
    return [arrival.path.split("/")[1] for arrival in host.arrivals]


def test_three_feeds_on_one_host_are_read_one_after_the_other_never_closer_than_its_interval(tmp_path):
    with OcpiHosts([HostSpec("shared", feeds=3, min_interval_s=0.2)], latency_s=0.025) as sandbox:
        results, _ = run_hosts(tmp_path, sandbox)
        host = sandbox.hosts["shared"]
    assert results == {"shared_f00": 15, "shared_f01": 15, "shared_f02": 15}
    assert operators(host) == ["shared_f00"] * 2 + ["shared_f01"] * 2 + ["shared_f02"] * 2
    assert {arrival.status for arrival in host.arrivals} == {200}
    gaps = host.gaps()
    assert len(gaps) == 5 and min(gaps) >= 0.2
    # The interval counts from each answer (a gap is about 0.225 s): never a second interval on top.
    assert max(gaps) < 2 * 0.2


def test_hosts_are_read_concurrently_each_at_its_own_interval(tmp_path):
    specs = [
        HostSpec("first", feeds=3, min_interval_s=0.2),  # 6 requests: floor 1.2 s
        HostSpec("second", feeds=2, min_interval_s=0.3, per_feed=True),  # 4 requests: floor 1.2 s
    ]
    with OcpiHosts(specs, latency_s=0.025) as sandbox:
        results, elapsed = run_hosts(tmp_path, sandbox)
        first, second = sandbox.hosts["first"], sandbox.hosts["second"]
    assert set(results.values()) == {15} and len(results) == 5
    assert min(first.gaps()) >= 0.2 and min(second.gaps()) >= 0.3
    assert {a.status for a in first.arrivals + second.arrivals} == {200}
    # Together, not one host after the other: each host's first request comes before the other's second.
    assert second.arrivals[0].at < first.arrivals[1].at and first.arrivals[0].at < second.arrivals[1].at
    assert elapsed >= 1.0


def test_a_retry_after_answered_to_one_feed_delays_the_next_feed_of_its_host(tmp_path):
    spec = HostSpec("shared", feeds=2, min_interval_s=0.1, throttle_request=2, retry_after_s=1)
    once = SETTINGS.model_copy(update={"max_attempts": 1})
    with OcpiHosts([spec]) as sandbox:
        results, _ = run_hosts(tmp_path, sandbox, settings=once)
        host = sandbox.hosts["shared"]
    # The first feed gives up on the 429 (one attempt); the second is still read, after the Retry-After.
    assert (
        results["shared_f00"].startswith("feed shared_f00, page 1 of ")
        and "HTTP 429" in results["shared_f00"]
    )
    assert results["shared_f01"] == 15
    assert [a.status for a in host.arrivals] == [200, 429, 200, 200]
    assert operators(host) == ["shared_f00", "shared_f00", "shared_f01", "shared_f01"]
    throttled, after = host.arrivals[1].at, host.arrivals[2].at
    assert 1.0 <= after - throttled < 2 * 1.0  # the Retry-After, and not a second one on top


def test_a_retried_429_waits_its_retry_after_and_the_host_never_refuses(tmp_path):
    spec = HostSpec("shared", feeds=2, min_interval_s=0.1, throttle_request=2, retry_after_s=1)
    with OcpiHosts([spec]) as sandbox:
        results, _ = run_hosts(tmp_path, sandbox)
        host = sandbox.hosts["shared"]
    assert results == {"shared_f00": 15, "shared_f01": 15}
    assert [a.status for a in host.arrivals] == [200, 429, 200, 200, 200]
    assert host.arrivals[2].at - host.arrivals[1].at >= 1.0


def test_the_fetch_asset_reads_by_host_with_the_lists_hosts_map(tmp_path):
    """Intervals only in the list's `hosts:` map: a fetch ignoring it would be refused by the hosts."""
    specs = [HostSpec("first", feeds=3, min_interval_s=0.15), HostSpec("second", feeds=2, min_interval_s=0.2)]
    with OcpiHosts(specs, latency_s=0.01) as sandbox:
        assert all(f.min_interval_s == 0 for f in load_feeds(sandbox.feeds_path))
        asset = build_fetch_asset(load_feeds(sandbox.feeds_path))
        resources = {
            "uk_ocpi": OcpiFeeds(feeds_file=str(sandbox.feeds_path), http=SETTINGS, max_concurrency=1),
            "data_dir": DataDir(path=str(tmp_path / "lake")),
            "alert_webhook": AlertWebhook(),
        }
        result = materialize([asset], resources=resources, partition_key=today_key())
        hosts = sandbox.hosts
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 6 and all(check.passed for check in checks)
    assert operators(hosts["first"]) == [f"first_f0{n}" for n in (0, 0, 1, 1, 2, 2)]
    assert min(hosts["first"].gaps()) >= 0.15 and min(hosts["second"].gaps()) >= 0.2
    # One host at a time (max_concurrency=1), the busiest (3 feeds x 0.15 s) first.
    assert hosts["first"].arrivals[-1].at < hosts["second"].arrivals[0].at
