"""What the schedule, automation and change-sensor tests share: materialising assets, ticking a sensor."""

import pytest
from dagster import AssetKey, build_sensor_context

from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings

FAST = HttpSettings(max_attempts=1)


def materialise(defs, instance, *keys):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={AssetKey(k) for k in keys})
    result = job.execute_in_process(partition_key=today_key(), instance=instance)
    assert result.success


def sensor_tick(defs, name, instance, cursor, **resources):
    context = build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs)
    return defs.resolve_sensor_def(name).evaluate_tick(context)


@pytest.fixture
def env(sandbox_env):
    return sandbox_env
