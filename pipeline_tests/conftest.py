"""Shared fixtures: one sandbox (fake upstreams + local S3) per test session, and an env pointing at it."""

import boto3
import pytest

from pipeline.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_env(sandbox, tmp_path_factory):
    """The environment a run needs to use the sandbox, applied to this process for one test module."""
    data_dir = tmp_path_factory.mktemp("data")
    env = {**sandbox.env(), "PIPELINE_DATA_DIR": str(data_dir), "PIPELINE_S3_PREFIX": "exports/"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture
def s3_client(sandbox, sandbox_env):
    return boto3.client("s3", endpoint_url=sandbox.s3.endpoint_url, region_name=sandbox.s3.region)
