"""Politeness per host (issue 16, item 12): 60 feeds on 12 hosts through the production CLI.

Some hosts serve many feeds, intervals run from 0.2 to 1 s, every request takes 25 ms, and one host
answers one request with 429 and `Retry-After: 2`. Intervals are written in the feed list's `hosts:`
map for most hosts and on every feed for the others. The fake hosts stamp each request's arrival, so
the gaps are the ones a server sees. The floor is the least time any polite client needs: the largest,
over hosts, of that host's requests × its interval, plus the Retry-After on the host that sent it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.sandbox._ocpi_hosts import HostSpec, OcpiHosts
from pipeline_tests.benchmarks.dagster_run import PipelineRun, materialize

LATENCY_S = 0.025
RETRY_AFTER_S = 2
# (feeds, interval s) per host: 60 feeds on 12 hosts.
LAYOUT = (
    (10, 0.2), (8, 0.25), (6, 0.3), (6, 0.4), (5, 0.5), (5, 0.6),
    (4, 0.7), (4, 0.8), (4, 0.9), (3, 1.0), (3, 1.0), (2, 1.0),
)  # fmt: skip
THROTTLED = 8  # the host answering its 3rd request with 429 and Retry-After


def specs() -> list[HostSpec]:
    """The 12 hosts; every feed 15 locations in pages of 10 (2 requests); odd hosts' intervals per feed."""
    return [
        HostSpec(
            f"h{n:02d}",
            feeds=feeds,
            min_interval_s=interval,
            per_feed=n % 2 == 1,
            throttle_request=3 if n == THROTTLED else None,
            retry_after_s=RETRY_AFTER_S,
        )
        for n, (feeds, interval) in enumerate(LAYOUT)
    ]


@dataclass(frozen=True)
class HostRow:
    host: str
    feeds: int
    interval_s: float
    requests: int
    statuses: dict[int, int]
    smallest_gap_s: float
    retry_after_s: float  # 0 when this host sent none

    @property
    def floor_s(self) -> float:
        return self.requests * self.interval_s + self.retry_after_s


@dataclass(frozen=True)
class Hosts:
    run: PipelineRun
    hosts: list[HostRow]
    ok: bool

    @property
    def fetch_s(self) -> float | None:
        value = self.run.metadata("uk_ocpi_feeds").get("fetch_seconds")
        return float(value) if isinstance(value, int | float) else None

    @property
    def floor_s(self) -> float:
        return max(row.floor_s for row in self.hosts)

    @property
    def gap_ratio(self) -> float:
        """The smallest gap any host saw, as a share of that host's interval (≥ 1: never too soon)."""
        return min(row.smallest_gap_s / row.interval_s for row in self.hosts)

    @property
    def feeds(self) -> int:
        return sum(row.feeds for row in self.hosts)

    @property
    def refused(self) -> int:
        return sum(row.statuses.get(403, 0) for row in self.hosts)


def hosts(workdir: Path) -> Hosts:
    """The fetch step, every feed of every host selected, ``UK_OCPI_MAX_CONCURRENCY`` = the hosts."""
    work = Path(tempfile.mkdtemp(prefix="ocpi-hosts.", dir=workdir))
    layout = specs()
    with OcpiHosts(layout, latency_s=LATENCY_S) as sandbox:
        env = {**sandbox.env(), "UK_OCPI_MAX_CONCURRENCY": str(len(layout))}
        operators = [operator for spec in layout for operator in spec.operators()]
        selection = ",".join([*(f"uk_ocpi_{op}_locations" for op in operators), "uk_ocpi_feeds"])
        run = materialize(selection, env, work)
        rows = [_row(spec, sandbox) for spec in layout]
    expected = sum(spec.requests for spec in layout)
    ok = run.measurement.returncode == 0 and sum(row.requests for row in rows) == expected
    return Hosts(run, rows, ok and all(set(row.statuses) <= {200, 429} for row in rows))


def _row(spec: HostSpec, sandbox: OcpiHosts) -> HostRow:
    host = sandbox.hosts[spec.name]
    arrivals = host.arrivals
    statuses: dict[int, int] = {}
    for arrival in arrivals:
        statuses[arrival.status] = statuses.get(arrival.status, 0) + 1
    gaps = host.gaps()
    return HostRow(
        host=spec.name,
        feeds=spec.feeds,
        interval_s=spec.min_interval_s,
        requests=len(arrivals),
        statuses=statuses,
        smallest_gap_s=min(gaps) if gaps else float("inf"),
        retry_after_s=float(spec.retry_after_s) if statuses.get(429) else 0.0,
    )
