"""The Dagster UI in a real browser, as a data engineer meets it after the demo.

The whole graph is materialised once with the production CLI on a temporary instance against the
sandbox; `dagster-webserver` then serves that instance, and Debian's Chromium (driven headless by
Playwright, never a downloaded browser) opens it with every outside address unresolvable. Screenshots
go to `build/screenshots/`; with PIPELINE_UPDATE_SCREENSHOTS=1 the two the README shows are copied to
`docs/`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess  # nosec B404: the dagster CLI and webserver of this virtualenv, no shell
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PIPELINE_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = REPO / "build" / "screenshots"
DOCS = {"econnect-group-graph.png": "ui-asset-graph.png", "asset-overview.png": "ui-asset-overview.png"}
# No network but the webserver: outside names do not resolve, and nothing phones home.
BROWSER_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)


@dataclass
class Served:
    url: str
    run_id: str
    assets: dict[str, str]  # asset key → group
    first_visit_dialog: bool


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_loaded(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    """Until the webserver answers and its code location has loaded."""
    query = json.dumps(
        {"query": "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"}
    ).encode()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster-webserver exited; see build/screenshots/webserver.log"
        try:
            request = urllib.request.Request(
                f"{url}/graphql", data=query, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=5) as response:  # nosec B310
                if b'"LOADED"' in response.read():
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"dagster-webserver at {url} did not load the code location in {timeout_s} s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: run scripts/ensure-chromium.sh (apt's `chromium`), or set "
            "PIPELINE_TEST_CHROMIUM to a Chromium binary."
        )
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, browser: Browser) -> Iterator[Served]:
    """The demo's run on a fresh instance and lake, and the webserver serving them."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    home, lake = tmp_path_factory.mktemp("dagster-home"), tmp_path_factory.mktemp("lake")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    day = today_key()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "ECONNECT_", "NCR_"))}
    with Sandbox() as sandbox:
        env = {
            **inherited,
            **sandbox.env(),
            "PIPELINE_DATA_DIR": str(lake),
            "PIPELINE_S3_PREFIX": "",
            "DAGSTER_HOME": str(home),
        }
        bin_dir = Path(sys.executable).parent
        run = subprocess.run(  # nosec B603
            [str(bin_dir / "dagster"), "asset", "materialize", "-m", "pipeline.definitions",
             "--select", "*", "--partition", day],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        defs = build_definitions(env)
        instance = DagsterInstance.from_config(str(home))
        [record] = instance.get_run_records()
        assert record.dagster_run.status == DagsterRunStatus.SUCCESS
        assets = {spec.key.to_user_string(): spec.group_name or "" for a in defs.assets for spec in a.specs}
        _assert_partitions_honest(instance, defs, day)
        instance.dispose()

        port = free_port()
        log = (SHOTS / "webserver.log").open("wb")
        server = subprocess.Popen(  # nosec B603
            [str(bin_dir / "dagster-webserver"), "-m", "pipeline.definitions",
             "-h", "127.0.0.1", "-p", str(port)],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_loaded(url, server)
            yield Served(url, record.dagster_run.run_id, assets, _dismiss_first_visit_dialog(browser, url))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()


def _assert_partitions_honest(instance: DagsterInstance, defs: object, day: str) -> None:
    """After the first run every asset has all its partitions but one: the always-down feed's today."""
    missing = {}
    for assets_def in defs.assets:  # type: ignore[attr-defined]
        days = set(assets_def.partitions_def.get_partition_keys())
        assert days == {day}, f"{assets_def.key}: partitions {sorted(days)[:3]}..., not only {day}"
        for key in assets_def.keys:
            if instance.get_materialized_partitions(key) != days:
                missing[key.to_user_string()] = sorted(days - instance.get_materialized_partitions(key))
    assert missing == {"uk_ocpi_sandbox_down_locations": [day]}


def _dismiss_first_visit_dialog(browser: Browser, url: str) -> bool:
    """A fresh instance greets its first visitor with a dialog over the page; Skip closes it for good."""
    page = browser.new_page()
    try:
        page.goto(url)
        dialog = page.get_by_text("Join the Dagster community")
        dialog.wait_for(timeout=WAIT_MS)
        page.get_by_role("button", name="Skip").click()
        expect(dialog).to_be_hidden(timeout=WAIT_MS)
        page.reload()
        page.get_by_text("Overview").first.wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(2000)  # the dialog, when it comes, comes about a second after load
        return not dialog.is_visible()
    finally:
        page.close()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / name))
    if os.environ.get("PIPELINE_UPDATE_SCREENSHOTS") == "1" and name in DOCS:
        shutil.copyfile(SHOTS / name, REPO / "docs" / DOCS[name])


def test_the_first_visit_dialog_is_dismissed_and_stays_away(served):
    assert served.first_visit_dialog


def test_the_asset_graph_lists_every_group_and_every_asset(page, served):
    page.goto(f"{served.url}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    groups = sorted(set(served.assets.values()))
    assert groups == ["econnect", "uk_ocpi", "uk_registry"]
    for group in groups:
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
    shoot(page, "asset-graph.png")
    toggles = page.locator("[aria-label=arrow_drop_down]")  # the sidebar's groups, then a menu's caret
    for index in range(len(groups)):
        toggles.nth(index).click()
    for key in served.assets:
        expect(page.get_by_text(key, exact=True).first).to_be_attached()
    listed = page.inner_text("body")
    assert [key for key in served.assets if key not in listed] == []
    assert len(served.assets) == 38
    page.goto(f"{served.url}/locations/pipeline.definitions/asset-groups/econnect")
    expect(page.get_by_text("econnect_station_report").first).to_be_visible()
    expect(page.get_by_text("100% filled").first).to_be_visible()  # honest partitions: 1 of 1
    page.wait_for_timeout(1000)  # the graph settles its layout
    shoot(page, "econnect-group-graph.png")


def test_an_assets_page_shows_its_columns_metadata_and_checks(page, served):
    page.goto(f"{served.url}/assets/uk_registry_devices")
    expect(page.get_by_text("Columns", exact=True)).to_be_visible()
    for column in ("ChargeDeviceId", "ChargeDeviceManufacturer", "PostCode", "MonthUpdated", "DateUpdated"):
        expect(page.get_by_role("cell", name=column, exact=True)).to_be_visible()
    expect(page.get_by_text("Upper case, one space before the inward code; '' if none.")).to_be_visible()
    expect(page.get_by_text("Metadata", exact=True)).to_be_visible()
    for key, value in (
        ("records_received", "2345"),
        ("duplicate_records", "5"),
        ("skipped_without_model", "141"),
    ):
        row = page.get_by_role("row").filter(has=page.get_by_text(key, exact=True))
        expect(row.get_by_text(value, exact=True)).to_be_visible()
    for shown in ("ev-data", "Parquet", "layer: clean", "source: uk_registry"):
        expect(page.get_by_text(shown, exact=True).first).to_be_visible()
    shoot(page, "asset-overview.png")
    page.get_by_role("tab", name="Checks").click()
    expect(page.get_by_text("ids_unique").first).to_be_visible()
    expect(page.get_by_text("Each id appears once in the table").first).to_be_visible()
    shoot(page, "asset-checks.png")


def test_the_runs_page_shows_the_run_succeeded(page, served):
    page.goto(f"{served.url}/runs")
    # The instance holds this one run: its link, its partition and one success mark on the page.
    expect(page.get_by_role("link", name=f"run {served.run_id[:8]}")).to_be_visible()
    expect(page.get_by_role("img", name="run_success")).to_have_count(1)
    expect(page.get_by_text(f"partition: {today_key()}").first).to_be_visible()
    expect(page.get_by_text("Success", exact=False).first).to_be_visible()
    shoot(page, "runs.png")
