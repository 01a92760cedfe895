"""Markdown tables of a benchmark run, and the issue's targets checked against them.

Plain string formatting rather than a table library, so the output looks the same wherever it is run
and the results file diffs cleanly between runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline_tests.benchmarks.hosts import Hosts
from pipeline_tests.benchmarks.image import Image
from pipeline_tests.benchmarks.measure import Measurement
from pipeline_tests.benchmarks.scenarios import EndToEnd, Feeds, Fetch, Lake, Workbook

ECONNECT_TARGET_SIZE = 200_000
REGISTRY_SIZES = (100_000, 1_000_000)
WORKBOOK_TARGET_SIZE = 200_000
_REGISTRY_TARGET = "registry peak memory at 1M ≤ 100 MB above 100k"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def end_to_end(results: Sequence[EndToEnd]) -> str:
    header = [
        "source", "size", "seed s", "seed peak MB", "pipeline s", "pipeline tree peak MB",
        "pipeline largest process MB", "speed-up (seed s / pipeline s)", "memory (pipeline tree / seed)",
        "both finished",
    ]  # fmt: skip
    rows = [
        [
            r.source,
            f"{r.size:,}",
            f"{r.seed.wall_s:.1f}",
            f"{r.seed.single_mb:.0f}",
            f"{r.pipeline.wall_s:.1f}",
            f"{r.pipeline.tree_mb:.0f}",
            f"{r.pipeline.single_mb:.0f}",
            f"{r.seed.wall_s / r.pipeline.wall_s:.2f}×" if r.ok else "n/a",
            f"{r.pipeline.tree_mb / r.seed.single_mb:.2f}×" if r.ok else "n/a",
            "yes" if r.ok else "**no** (log tail on stderr)",
        ]
        for r in results
    ]
    return table(header, rows)


def steps(results: Sequence[EndToEnd], *, shown: int = 4) -> str:
    """Where the pipeline's wall time goes: Dagster's step timings, and what is left outside the steps."""
    header = ["run", "pipeline s", "outside steps s (start-up, loading, hand-overs)", "slowest steps s"]
    rows = []
    for r in results:
        slowest = sorted(r.steps.items(), key=lambda item: item[1], reverse=True)[:shown]
        rows.append(
            [
                f"{r.source} {r.size:,}" + ("" if r.ok else " (failed)"),
                f"{r.pipeline.wall_s:.1f}",
                f"{r.pipeline.wall_s - sum(r.steps.values()):.1f}",
                ", ".join(f"`{step}` {seconds:.1f}" for step, seconds in slowest),
            ]
        )
    return table(header, rows)


def fetches(results: Sequence[Fetch]) -> str:
    header = [
        "stations",
        "requests",
        "ideal s (pages × latency ÷ concurrency)",
        "sandbox ceiling s (bare GETs, same concurrency)",
        "fetch step s",
        "step ÷ ideal",
        "ceiling ÷ ideal",
    ]
    rows = [
        [
            f"{f.stations:,}",
            f"{f.pages:,}",
            f"{f.ideal_s:.2f}",
            _seconds(f.ceiling_s),
            _seconds(f.step_s),
            _ratio(f.step_s, f.ideal_s),
            _ratio(f.ceiling_s, f.ideal_s),
        ]
        for f in results
    ]
    return table(header, rows)


def workbooks(results: Sequence[Workbook]) -> str:
    header = [
        "stations",
        "pipeline writer s",
        "pandas + openpyxl s",
        "speed-up",
        "rows read back (pipeline / pandas)",
    ]
    rows = [
        [
            f"{w.stations:,}",
            f"{w.pipeline.seconds:.1f}",
            f"{w.pandas.seconds:.1f}",
            f"{w.pandas.seconds / w.pipeline.seconds:.2f}×",
            f"{w.pipeline.values_rows:,} / {w.pandas.values_rows:,}",
        ]
        for w in results
    ]
    return table(header, rows)


def lakes(results: Sequence[Lake]) -> str:
    """eConnect with the lake on local disk and on S3 (moto's server on this machine): the raw pages, the
    report and the whole run."""
    header = ["stations", "lake", "pipeline s", "raw pages step s", "report step s", "tree peak MB", "ok"]
    rows = []
    for r in results:
        for name, run in (("local disk", r.local), ("S3 (sandbox)", r.s3)):
            rows.append(
                [
                    f"{r.stations:,}",
                    name,
                    f"{run.measurement.wall_s:.1f}",
                    _seconds(run.steps.get("econnect_station_pages")),
                    _seconds(run.steps.get("econnect_station_report")),
                    f"{run.measurement.tree_mb:.0f}",
                    "yes" if r.ok else "**no**",
                ]
            )
    return table(header, rows)


def feeds(results: Sequence[Feeds]) -> str:
    """The OCPI fetch step: every feed at once against the slowest (here: any) feed alone."""
    header = [
        "feeds × pages",
        "fetch, all feeds s",
        "fetch, one feed alone s",
        "ratio",
        "≤ 1.5×",
        "whole fetch step (its events included) s",
        "ok",
    ]
    rows = [
        [
            f"{r.feeds} × {r.pages}",
            _seconds(r.fetch_s),
            _seconds(r.one_s),
            f"{r.fetch_s / r.one_s:.2f}×" if r.fetch_s and r.one_s else "n/a",
            _met(bool(r.fetch_s and r.one_s and r.fetch_s <= 1.5 * r.one_s)),
            _seconds(r.step_s),
            "yes" if r.ok else "**no**",
        ]
        for r in results
    ]
    return table(header, rows)


def hosts(result: Hosts) -> str:
    """Politeness per host: each host's requests, interval, floor and the smallest gap it saw."""
    header = [
        "host",
        "feeds",
        "interval s",
        "requests",
        "answers",
        "floor s",
        "smallest gap s",
        "gap ÷ interval",
    ]
    rows = [
        [
            row.host + (" (429, Retry-After)" if row.retry_after_s else ""),
            row.feeds,
            f"{row.interval_s:g}",
            row.requests,
            ", ".join(f"{count}× {status}" for status, count in sorted(row.statuses.items())),
            f"{row.floor_s:.2f}",
            f"{row.smallest_gap_s:.3f}",
            f"{row.smallest_gap_s / row.interval_s:.3f}",
        ]
        for row in result.hosts
    ]
    summary = table(
        [
            "feeds on hosts", "fetch s", "politeness floor s", "fetch ÷ floor", "≤ 1.1×",
            "smallest gap ÷ interval", "≥ 1", "403s", "whole fetch step s", "ok",
        ],
        [
            [
                f"{result.feeds} on {len(result.hosts)}",
                _seconds(result.fetch_s),
                f"{result.floor_s:.2f}",
                _ratio(result.fetch_s, result.floor_s, digits=2),
                _met(result.fetch_s is not None and result.fetch_s <= 1.1 * result.floor_s),
                f"{result.gap_ratio:.3f}",
                _met(result.gap_ratio >= 1),
                result.refused,
                _seconds(result.run.steps.get("uk_ocpi_fetch")),
                "yes" if result.ok else "**no**",
            ]
        ],
    )  # fmt: skip
    return f"{summary}\n\n{table(header, rows)}"


def demo(result: Measurement) -> str:
    header = ["wall s", "tree peak MB", "largest process MB", "finished"]
    rows = [
        [f"{result.wall_s:.1f}", f"{result.tree_mb:.0f}", f"{result.single_mb:.0f}", result.returncode == 0]
    ]
    return table(header, rows)


def image(result: Image) -> str:
    base = "kept from an earlier run" if result.base_s is None else f"{result.base_s:.0f} s"
    summary = (
        f"Built with podman on the Debian 12 base bootstrapped by mmdebstrap (base: {base}); the code "
        f"server's start is the median of {len(result.starts_s)} starts, every source on against the sandbox "
        f"({', '.join(f'{s:.1f}' for s in result.starts_s)} s)."
    )
    header = ["image MB", "of it /opt/venv MB", "cold build s", "cached s", "code change s", "server start s"]
    rows = [
        [
            f"{result.size_mb:.0f}",
            f"{result.venv_mb:.0f}",
            f"{result.cold_s:.0f}",
            f"{result.cached_s:.1f}",
            f"{result.code_change_s:.1f}",
            f"{result.start_s:.1f}",
        ]
    ]
    return f"{summary}\n\n{table(header, rows)}"


def targets(
    end: Sequence[EndToEnd],
    fetch: Sequence[Fetch],
    books: Sequence[Workbook],
    demo_run: Measurement | None,
    *,
    per_host: Hosts | None = None,
) -> str:
    """One row per target of the issue: what was measured and whether it is met."""
    rows = [
        _econnect_target(end),
        _econnect_memory_target(end),
        _fetch_target(fetch),
        _ceiling_target(fetch),
        *_econnect_step_targets(end),
        _registry_target(end),
        _registry_time_target(end),
        _workbook_target(books),
    ]
    if demo_run is not None:
        rows.append(
            [
                "whole graph, demo data, CLI: < 20 s (aim)",
                f"{demo_run.wall_s:.1f} s",
                _met(demo_run.wall_s < 20),
            ]
        )
    if per_host is not None:
        rows += _host_targets(per_host)
    return table(["target", "measured", "met"], [row for row in rows if row])


def _host_targets(result: Hosts) -> list[list[str]]:
    fetch = result.fetch_s
    return [
        [
            f"OCPI {result.feeds} feeds on {len(result.hosts)} hosts: fetch ≤ 1.1 × the politeness floor",
            f"{_seconds(fetch)} s vs {result.floor_s:.2f} s: {_ratio(fetch, result.floor_s, digits=2)}",
            _met(result.ok and fetch is not None and fetch <= 1.1 * result.floor_s),
        ],
        [
            "OCPI per host: no host sees two requests closer than its interval",
            f"smallest gap {result.gap_ratio:.3f} × the interval, {result.refused} refused",
            _met(result.gap_ratio >= 1 and result.refused == 0),
        ],
    ]


def _econnect_target(end: Sequence[EndToEnd]) -> list[str]:
    run = next((r for r in end if r.source == "eConnect" and r.size == ECONNECT_TARGET_SIZE), None)
    if run is None:
        return []
    if not run.ok:
        return ["eConnect 200k @ 25 ms end to end: ≥ 8× faster than the seed", "run failed", _met(False)]
    speedup = run.seed.wall_s / run.pipeline.wall_s
    return [
        "eConnect 200k @ 25 ms end to end: ≥ 8× faster than the seed",
        f"{speedup:.2f}×",
        _met(speedup >= 8),
    ]


def _econnect_memory_target(end: Sequence[EndToEnd]) -> list[str]:
    run = next((r for r in end if r.source == "eConnect" and r.size == ECONNECT_TARGET_SIZE), None)
    if run is None or not run.ok:
        return []
    measured = f"{run.pipeline.tree_mb:.0f} MB tree vs {run.seed.single_mb:.0f} MB"
    return [
        "eConnect 200k peak memory ≤ the seed's",
        measured,
        _met(run.pipeline.tree_mb <= run.seed.single_mb),
    ]


def _fetch_target(fetch: Sequence[Fetch]) -> list[str]:
    run = next((f for f in fetch if f.stations == ECONNECT_TARGET_SIZE), None)
    if run is None:
        return []
    met = run.step_s is not None and run.step_s <= 2 * run.ideal_s
    return ["eConnect 200k fetch ≤ 2 × pages × latency ÷ 16", _ratio(run.step_s, run.ideal_s), _met(met)]


def _ceiling_target(fetch: Sequence[Fetch]) -> list[str]:
    run = next((f for f in fetch if f.stations == ECONNECT_TARGET_SIZE), None)
    if run is None or run.ceiling_s is None:
        return []
    met = run.step_s is not None and run.step_s <= 1.3 * run.ceiling_s
    return ["eConnect 200k fetch ≤ 1.3 × the sandbox's ceiling", _ratio(run.step_s, run.ceiling_s), _met(met)]


# Issue 11's budget per step of the eConnect 200k run (Dagster's step timings), in seconds.
ECONNECT_STEP_TARGETS = {
    "econnect_station_report": ("the report", 1.5),
    "econnect_clean_stations": ("cleaning", 1.0),
    "econnect_station_counts": ("counts", 0.3),
}


def _econnect_step_targets(end: Sequence[EndToEnd]) -> list[list[str]]:
    run = next((r for r in end if r.source == "eConnect" and r.size == ECONNECT_TARGET_SIZE), None)
    if run is None or not run.ok:
        return []
    return [
        [
            f"eConnect 200k step: {what} ≤ {limit} s",
            _seconds(run.steps.get(step)),
            _met(run.steps.get(step, 1e9) <= limit),
        ]
        for step, (what, limit) in ECONNECT_STEP_TARGETS.items()
    ]


def _registry_time_target(end: Sequence[EndToEnd]) -> list[str]:
    run = next((r for r in end if r.source == "UK registry" and r.size == REGISTRY_SIZES[1]), None)
    if run is None:
        return []
    if not run.ok:
        return ["registry 1M devices end to end ≤ 15 s", "run failed", _met(False)]
    return [
        "registry 1M devices end to end ≤ 15 s",
        f"{run.pipeline.wall_s:.1f} s",
        _met(run.pipeline.wall_s <= 15),
    ]


def _registry_target(end: Sequence[EndToEnd]) -> list[str]:
    runs = {r.size: r for r in end if r.source == "UK registry"}
    if not all(size in runs for size in REGISTRY_SIZES):
        return []
    small, large = (runs[size].pipeline for size in REGISTRY_SIZES)
    growth = large.tree_mb - small.tree_mb
    measured = f"+{growth:.0f} MB tree (largest process +{large.single_mb - small.single_mb:.0f} MB)"
    if not all(runs[size].ok for size in REGISTRY_SIZES):
        # Still worth showing: the growth up to the failure is a lower bound of the real one.
        return [_REGISTRY_TARGET, f"run failed; up to the failure {measured}", _met(False)]
    return [_REGISTRY_TARGET, measured, _met(growth <= 100)]


def _workbook_target(books: Sequence[Workbook]) -> list[str]:
    run = next((w for w in books if w.stations == WORKBOOK_TARGET_SIZE), None)
    if run is None:
        return []
    speedup = run.pandas.seconds / run.pipeline.seconds
    complete = run.pipeline.values_rows == run.pandas.values_rows == run.stations
    measured = f"{speedup:.2f}×, rows {'all there' if complete else 'LOST'}"
    return [
        "workbook 200k ≥ 3× faster than pandas + openpyxl, no row lost",
        measured,
        _met(speedup >= 3 and complete),
    ]


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _ratio(value: float | None, ideal: float, *, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value / ideal:.{digits}f}×"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"
