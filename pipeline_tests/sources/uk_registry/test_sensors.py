"""The registry's change sensor, through Dagster's own testing APIs."""

from __future__ import annotations

import json

from dagster import instance_for_test

from pipeline.definitions import build_definitions
from pipeline.sandbox import RegistryServer, make_registry
from pipeline.sources.uk_registry.client import RegistryApi
from pipeline_tests.orchestration.support import FAST, materialise, sensor_tick
from pipeline_tests.orchestration.support import env as env  # a fixture, imported for pytest to find


def test_uk_registry_change_sensor_uses_conditional_get(env, tmp_path):
    defs = build_definitions(env)
    with instance_for_test() as instance, RegistryServer(make_registry(50)) as server:
        api = RegistryApi(url=server.url, http=FAST)
        first = sensor_tick(defs, "uk_registry_change_sensor", instance, None, uk_registry=api)
        assert len(first.run_requests) == 1
        assert json.loads(first.cursor) == {"ETag": server.etag, "Last-Modified": server.last_modified}

        local = build_definitions({**env, "NCR_API_URL": server.url, "PIPELINE_DATA_DIR": str(tmp_path)})
        materialise(local, instance, "uk_registry_snapshot")
        unchanged = sensor_tick(defs, "uk_registry_change_sensor", instance, first.cursor, uk_registry=api)
        assert unchanged.run_requests == [] and "304 Not Modified" in unchanged.skip_message
        assert server.requests[-1][1] == 304

        server.publish(make_registry(51))
        changed = sensor_tick(defs, "uk_registry_change_sensor", instance, unchanged.cursor, uk_registry=api)
        assert len(changed.run_requests) == 1 and json.loads(changed.cursor)["ETag"] == server.etag
