"""The whole graph run in this process, as tests compare other ways of running it against."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from dagster import DagsterInstance, ExecuteInProcessResult

from pipeline.definitions import build_definitions


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in this process's environment for the block, as it was afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield


def run_whole_graph(env: Mapping[str, str], partition: str) -> ExecuteInProcessResult:
    """Every asset for `partition`, built and run with `env` as the environment (on an ephemeral
    instance); the run must succeed."""
    with environment(env):
        job = build_definitions(dict(env)).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(partition_key=partition, instance=DagsterInstance.ephemeral())
    assert result.success
    return result
