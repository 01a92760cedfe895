"""eConnect's change sensor, through Dagster's own testing APIs."""

from __future__ import annotations

import pytest
from dagster import AssetKey, AssetMaterialization, instance_for_test

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import REUSED, today_key
from pipeline.sandbox import EConnectServer, make_stations
from pipeline.sources.econnect.client import EConnectApi
from pipeline_tests.orchestration.support import FAST, materialise, sensor_tick
from pipeline_tests.orchestration.support import env as env  # a fixture, imported for pytest to find


def test_econnect_change_sensor_requests_a_snapshot_only_when_the_fleet_changed(env, tmp_path):
    defs = build_definitions(env)
    stations = make_stations(300)
    with instance_for_test() as instance, EConnectServer(stations, "u", "p", "BP") as server:
        api = EConnectApi(
            base_url=server.base_url, username="u", password="p", business_partner="BP", http=FAST
        )
        first = sensor_tick(defs, "econnect_change_sensor", instance, None, econnect=api)
        [request] = first.run_requests
        assert request.partition_key == today_key()
        assert request.asset_selection == [AssetKey("econnect_station_pages")]
        assert first.cursor == api.fingerprint() and first.cursor.startswith("300:")

        local = build_definitions(
            {**env, "ECONNECT_API_URL": server.base_url, "PIPELINE_DATA_DIR": str(tmp_path)}
        )
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {
                "ECONNECT_USERNAME": "u",
                "ECONNECT_PASSWORD": "p",
                "ECONNECT_BUSINESS_PARTNER": "BP",
            }.items():
                patch.setenv(name, value)
            materialise(local, instance, "econnect_station_pages")
        unchanged = sensor_tick(defs, "econnect_change_sensor", instance, first.cursor, econnect=api)
        assert unchanged.run_requests == [] and "unchanged since the last snapshot" in unchanged.skip_message
        # A backfill re-materialising a past day from its stored snapshot says nothing about the upstream.
        instance.report_runless_asset_event(
            AssetMaterialization("econnect_station_pages", partition="2025-06-01", metadata={REUSED: True})
        )
        after_backfill = sensor_tick(defs, "econnect_change_sensor", instance, first.cursor, econnect=api)
        assert after_backfill.run_requests == []

    with instance_for_test() as other, EConnectServer(stations[:-1], "u", "p", "BP") as changed_server:
        api = EConnectApi(
            base_url=changed_server.base_url, username="u", password="p", business_partner="BP", http=FAST
        )
        changed = sensor_tick(defs, "econnect_change_sensor", other, first.cursor, econnect=api)
        assert changed.cursor.startswith("299:") and len(changed.run_requests) == 1
