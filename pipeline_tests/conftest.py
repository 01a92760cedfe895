"""Shared fixtures: one sandbox (fake upstreams + local S3) per test session, and an env pointing at it.

Two guards keep every test on this machine: the test process cannot resolve or connect to anything but
loopback, and it (and every process a test starts) sees an empty OCPI feed list unless a test names the
sandbox's list itself, because the bundled list names real operators.
"""

import socket

import boto3
import pytest

from pipeline.sandbox import Sandbox
from pipeline_tests.environments import environment
from pipeline_tests.loopback import is_loopback


@pytest.fixture(scope="session", autouse=True)
def loopback_only():
    """A test that tries to reach a real host fails at once, naming the host, instead of calling it."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback(host):
            raise socket.gaierror(f"tests may only reach the sandbox on 127.0.0.1, not {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and not is_loopback(address[0]):
            raise ConnectionRefusedError(f"tests may only reach the sandbox on 127.0.0.1, not {address[0]!r}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        yield


@pytest.fixture(scope="session", autouse=True)
def no_real_operators(tmp_path_factory):
    """The feed list every test process and child process sees unless a test names the sandbox's."""
    empty = tmp_path_factory.mktemp("feeds") / "no-feeds.yaml"
    empty.write_text("feeds: []\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UK_OCPI_FEEDS", str(empty))
        yield empty


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_env(sandbox, tmp_path_factory):
    """The environment a run needs to use the sandbox, applied to this process for one test module."""
    data_dir = tmp_path_factory.mktemp("data")
    env = {**sandbox.env(), "PIPELINE_DATA_DIR": str(data_dir), "PIPELINE_S3_PREFIX": "exports/"}
    with environment(env):
        yield env


@pytest.fixture
def s3_client(sandbox, sandbox_env):
    return boto3.client("s3", endpoint_url=sandbox.s3.endpoint_url, region_name=sandbox.s3.region)
