"""Seed way vs the pipeline, in one invocation, on this machine: ``python -m pipeline_tests.benchmarks.run``.

A script, not a timed test: timings on a shared 2-core machine are too noisy to fail CI on, but they
must be reproducible by anyone with one command. Prints the tables and, with ``--out FILE``, also
writes them as markdown with the commit and the machine they were measured on (docs/performance.md
says how to read them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from pipeline_tests.benchmarks import hosts, image, report, scenarios
from pipeline_tests.benchmarks.dagster_run import MAX_CONCURRENCY, REPO

FULL: dict[str, tuple[int, ...]] = {
    "econnect": (20_000, 200_000),
    "registry": (100_000, 1_000_000),
    "excel": (200_000,),
    "lake": (200_000,),
    "ocpi": (60,),
}
QUICK: dict[str, tuple[int, ...]] = {
    "econnect": (20_000,),
    "registry": (100_000,),
    "excel": (20_000,),
    "lake": (20_000,),
    "ocpi": (60,),
}
PARTS = ("econnect", "registry", "excel", "lake", "ocpi", "hosts", "demo", "image")
OCPI_PAGES = 10
PACKAGES = (
    "dagster",
    "pandas",
    "pyarrow",
    "numpy",
    "openpyxl",
    "rvgsrust-xlsxwriter",
    "requests",
    "ijson",
    "msgspec",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline_tests.benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only (20k stations, 100k devices)")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the markdown results to this file")
    parser.add_argument("--commit", help="commit the measured tree came from (default: git rev-parse HEAD)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    # --quick leaves the image out (a cold build alone is three minutes); `--only image` still runs it.
    parts = args.only or [part for part in PARTS if not (args.quick and part == "image")]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench.") as tmp:
        body = _run(parts, sizes, Path(tmp))
    header = _header(args.commit or _commit(), time.perf_counter() - started, args.quick)
    text = f"{header}\n{body}"
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


def _run(parts: list[str], sizes: dict[str, tuple[int, ...]], workdir: Path) -> str:
    """Run the chosen parts in order, reporting progress on stderr; the markdown tables as one string."""
    end, fetches, books, lakes, feeds, demo = [], [], [], [], [], None
    for stations in sizes["econnect"] if "econnect" in parts else ():
        _progress(f"eConnect, {stations:,} stations")
        row, fetch = scenarios.econnect(stations, workdir)
        end.append(row)
        fetches.append(fetch)
    for devices in sizes["registry"] if "registry" in parts else ():
        _progress(f"UK registry, {devices:,} devices")
        end.append(scenarios.registry(devices, workdir))
    for stations in sizes["excel"] if "excel" in parts else ():
        _progress(f"workbook writers, {stations:,} stations")
        books.append(scenarios.workbook(stations, workdir))
    for stations in sizes["lake"] if "lake" in parts else ():
        _progress(f"eConnect, {stations:,} stations, lake on local disk then on S3")
        lakes.append(scenarios.lake(stations, workdir))
    for count in sizes["ocpi"] if "ocpi" in parts else ():
        _progress(f"OCPI fetch, {count} feeds × {OCPI_PAGES} pages, then one feed alone")
        feeds.append(scenarios.ocpi(count, OCPI_PAGES, workdir))
    per_host = None
    if "hosts" in parts:
        _progress("OCPI fetch, 60 feeds on 12 hosts, politeness per host")
        per_host = hosts.hosts(workdir)
    if "demo" in parts:
        _progress("whole graph on the demo data")
        demo = scenarios.demo(workdir)
    built = None
    if "image" in parts:
        _progress("the code location's image: build cold, cached and after a code change; code server start")
        built = image.image(workdir)
    sections = [("Targets", report.targets(end, fetches, books, demo, per_host=per_host))]
    if end:
        sections.append(("End to end: seed script vs `dagster asset materialize`", report.end_to_end(end)))
        sections.append(("Where the pipeline's time goes (Dagster's step timings)", report.steps(end)))
    if fetches:
        sections.append(("eConnect fetch step alone", report.fetches(fetches)))
    if books:
        sections.append(("Workbook writer alone", report.workbooks(books)))
    if lakes:
        sections.append(("The lake on local disk and on S3 (eConnect to the workbook)", report.lakes(lakes)))
    if feeds:
        sections.append(
            ("OCPI feeds: the whole fetch against one feed alone (25 ms a request)", report.feeds(feeds))
        )
    if per_host is not None:
        sections.append(
            (
                "OCPI feeds by host: the fetch against the politeness floor (25 ms a request)",
                report.hosts(per_host),
            )
        )
    if demo is not None:
        sections.append(("Whole graph on the demo data (`--select '*'`, no latency)", report.demo(demo)))
    if built is not None:
        sections.append(("The code location's image (deploy/Dockerfile, podman)", report.image(built)))
    return "\n".join(f"\n## {title}\n\n{text}" for title, text in sections)


def _header(commit: str, total_s: float, quick: bool) -> str:
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return (
        "# Benchmark results\n\n"
        f"Measured on {day} at commit `{commit}`{' (--quick)' if quick else ''}; the benchmark took "
        f"{total_s / 60:.1f} min.\n\n"
        f"- Machine: {_cpu_model()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB RAM, "
        f"{platform.platform()}\n"
        f"- Python {platform.python_version()}; {versions}\n"
        f"- Injected latency {scenarios.LATENCY_S * 1000:.0f} ms per request; "
        f"ECONNECT_MAX_CONCURRENCY={MAX_CONCURRENCY}\n"
        "- Memory: seed = its peak RSS (`os.wait4`); pipeline tree = the largest sum of RSS over the CLI's "
        "process tree (sampled every 50 ms); largest process = the biggest single process's peak (`os.wait4`)"
    )


def _commit() -> str:
    """HEAD of the repo this file is in, marked when ``pipeline/`` has uncommitted changes."""
    try:
        head = subprocess.run(  # read-only git, fixed arguments
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pipeline"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout; pass --commit)"
    return f"{head} + uncommitted changes in pipeline/" if dirty else head


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
