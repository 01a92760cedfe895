"""Sources as plug-ins: found by folder, on only when configured, orchestrated by tag."""

import logging
import sys
import textwrap

import pytest
from dagster import AssetKey

import pipeline.sources
from pipeline.definitions import build_definitions
from pipeline.sources.plugin import discover, log
from pipeline_tests.environments import ALL_SOURCES_ON, NO_FEEDS

ECONNECT_ONLY = {
    **{k: v for k, v in ALL_SOURCES_ON.items() if k.startswith("ECONNECT_")},
    "UK_OCPI_FEEDS": str(NO_FEEDS),
}

# Exactly what the README's "Adding a source" section tells a developer to write.
NEW_SOURCE_INIT = '''NAME = "charge_cloud"'''
NEW_SOURCE_ASSETS = '''
from dagster import AssetExecutionContext

from pipeline.sources.charge_cloud import NAME
from pipeline.sources.declare import snapshot_asset


@snapshot_asset(source=NAME, layer="raw", kinds={"api", "json"}, pool=NAME)
def charge_cloud_snapshot(context: AssetExecutionContext) -> None:
    """Today's answer of the Charge Cloud API."""


@snapshot_asset(source=NAME, layer="clean", deps=[charge_cloud_snapshot])
def charge_cloud_sites(context: AssetExecutionContext) -> None:
    """One row per site."""
'''
NEW_SOURCE_SENSORS = """
from dagster import SkipReason, sensor

from pipeline.sources.charge_cloud import NAME
from pipeline.sources.charge_cloud.assets import charge_cloud_snapshot


@sensor(name=f"{NAME}_change_sensor", asset_selection=[charge_cloud_snapshot])
def charge_cloud_change_sensor(context):
    return SkipReason("unchanged")
"""
NEW_SOURCE_DEFINITIONS = """
from dagster import Definitions

from pipeline.sources.charge_cloud import NAME, assets
from pipeline.sources.charge_cloud.sensors import charge_cloud_change_sensor
from pipeline.sources.plugin import Source, SourceContext


def build(context: SourceContext) -> Definitions:
    return Definitions(
        assets=[assets.charge_cloud_snapshot, assets.charge_cloud_sites],
        sensors=[charge_cloud_change_sensor],
    )


SOURCE = Source(name=NAME, description="Charge Cloud sites.", needs=("CHARGE_CLOUD_URL",), build=build)
"""


@pytest.fixture
def new_source_folder(tmp_path, monkeypatch):
    """A `charge_cloud` folder beside the real sources, as if it had been added to pipeline/sources/."""
    folder = tmp_path / "charge_cloud"
    folder.mkdir()
    files = {
        "__init__.py": NEW_SOURCE_INIT,
        "assets.py": NEW_SOURCE_ASSETS,
        "sensors.py": NEW_SOURCE_SENSORS,
        "definitions.py": NEW_SOURCE_DEFINITIONS,
    }
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    monkeypatch.setattr(pipeline.sources, "__path__", [*pipeline.sources.__path__, str(tmp_path)])
    yield folder
    for module in [m for m in sys.modules if m.startswith("pipeline.sources.charge_cloud")]:
        del sys.modules[module]


def test_every_folder_with_a_source_declaration_is_found():
    assert [source.name for source in discover()] == ["econnect", "uk_ocpi", "uk_registry"]


def test_a_new_source_folder_joins_the_graph_the_daily_schedule_and_the_sensors(new_source_folder):
    defs = build_definitions({**ALL_SOURCES_ON, "CHARGE_CLOUD_URL": "http://127.0.0.1:9"})
    graph = defs.get_repository_def().asset_graph
    assert {AssetKey("charge_cloud_snapshot"), AssetKey("charge_cloud_sites")} <= graph.get_all_asset_keys()
    assert graph.get(AssetKey("charge_cloud_sites")).group_name == "charge_cloud"
    raw_job = defs.get_repository_def().get_job("raw_snapshots")
    assert raw_job.asset_layer.executable_asset_keys == {
        AssetKey("charge_cloud_snapshot"),
        AssetKey("econnect_station_pages"),
        AssetKey("uk_ocpi_alpha_locations"),
        AssetKey("uk_ocpi_beta_locations"),
        AssetKey("uk_ocpi_feeds"),
        AssetKey("uk_registry_snapshot"),
    }
    assert defs.resolve_schedule_def("daily_raw_snapshots").job_name == "raw_snapshots"
    assert "charge_cloud_change_sensor" in {sensor.name for sensor in defs.sensors}
    freshness = {key.asset_key for key in graph.asset_check_keys if key.name == "snapshot_fresh"}
    assert AssetKey("charge_cloud_snapshot") in freshness
    sites = graph.get(AssetKey("charge_cloud_sites"))
    assert sites.automation_condition is not None  # derived: automation follows the snapshot
    assert graph.get(AssetKey("charge_cloud_snapshot")).automation_condition is None


def test_the_new_source_is_off_until_its_setting_is_there(new_source_folder):
    defs = build_definitions({**ALL_SOURCES_ON, "CHARGE_CLOUD_URL": "  "})
    keys = defs.get_repository_def().asset_graph.get_all_asset_keys()
    assert not [key for key in keys if key.path[-1].startswith("charge_cloud")]
    assert "charge_cloud_change_sensor" not in {sensor.name for sensor in defs.sensors}


@pytest.mark.parametrize("unset", ["missing", "", "   "])
def test_a_setting_that_is_unset_or_empty_turns_its_source_off(unset):
    env = {**ALL_SOURCES_ON, "UK_OCPI_FEEDS": str(NO_FEEDS)}
    if unset == "missing":
        del env["NCR_API_URL"]
    else:
        env["NCR_API_URL"] = unset
    defs = build_definitions(env)
    keys = {key.to_user_string() for key in defs.get_repository_def().asset_graph.get_all_asset_keys()}
    assert keys == {
        "econnect_station_pages",
        "econnect_stations",
        "econnect_station_rejects",
        "econnect_station_counts",
        "econnect_state_by_model",
        "econnect_state_history",
        "econnect_model_state_changes",
        "econnect_station_report",
    }
    assert {sensor.name for sensor in defs.sensors} == {
        "econnect_change_sensor",
        "derived_assets_automation",
        "run_failure_alert",
    }
    assert "uk_registry" not in defs.resources and "econnect" in defs.resources


def test_without_the_bucket_the_registry_runs_but_does_not_upload():
    env = {k: v for k, v in ALL_SOURCES_ON.items() if k != "PIPELINE_S3_BUCKET"}
    keys = build_definitions(env).get_repository_def().asset_graph.get_all_asset_keys()
    assert AssetKey("uk_registry_model_counts") in keys
    assert AssetKey("uk_registry_models_csv") not in keys


def test_with_no_source_configured_nothing_can_tick_and_fail():
    defs = build_definitions({"UK_OCPI_FEEDS": str(NO_FEEDS)})
    assert not defs.get_repository_def().asset_graph.get_all_asset_keys()
    assert list(defs.schedules or []) == []
    assert [sensor.name for sensor in defs.sensors] == ["run_failure_alert"]


def test_the_startup_log_says_which_sources_are_on_and_why_the_others_are_off(caplog):
    log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger=log.name):
            build_definitions({**ECONNECT_ONLY, "PIPELINE_S3_BUCKET": ""})
    finally:
        log.removeHandler(caplog.handler)
    assert caplog.messages == [
        "Sources:\n"
        "  econnect: on (ECONNECT_API_URL, ECONNECT_USERNAME, ECONNECT_PASSWORD, ECONNECT_BUSINESS_PARTNER "
        "set)\n"
        f"  uk_ocpi: off, not configured (the feed list {NO_FEEDS} names no feeds)\n"
        "  uk_registry: off, not configured (NCR_API_URL unset or empty)"
    ]


def test_a_source_folder_must_be_named_like_its_source(new_source_folder):
    definitions = new_source_folder / "definitions.py"
    definitions.write_text(definitions.read_text().replace("name=NAME", 'name="other"'))
    with pytest.raises(ValueError, match="declares source 'other'; name it 'charge_cloud'"):
        discover()
