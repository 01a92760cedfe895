"""The guards in conftest.py: no test can reach a real host, whatever the code under test asks for."""

import os
import re
import socket
from urllib.parse import urlsplit

import pytest
import requests

from pipeline.sources.uk_ocpi.feeds import load_feeds
from pipeline_tests.deploy.settings import REPO, env_file_values
from pipeline_tests.loopback import is_loopback, only_loopback

BUNDLED_FEEDS = REPO / "pipeline" / "sources" / "uk_ocpi" / "feeds.yaml"


def test_a_real_host_is_refused_by_name_before_any_lookup():
    with pytest.raises(requests.ConnectionError, match=r"tests may only reach the sandbox on 127\.0\.0\.1"):
        requests.get("https://char.gy/open-ocpi/locations", timeout=2)


def test_a_real_address_is_refused_before_any_packet():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match=r"not '192\.0\.2\.1'"):
        sock.connect(("192.0.2.1", 443))


def test_every_process_sees_an_empty_feed_list_unless_a_test_names_one(no_real_operators):
    assert os.environ["UK_OCPI_FEEDS"] == str(no_real_operators)
    assert no_real_operators.read_text() == "feeds: []\n"


def test_a_container_gets_the_sandbox_settings_and_its_feed_list_mounted(sandbox):
    """The guards above live in this process; a container started by the tests or the benchmark gets only
    settings that point at this machine, checked where every such container is started."""
    env, mounts = container_settings(sandbox)
    feeds = load_feeds(sandbox.ocpi.feeds_path)
    assert len(feeds) >= 10 and all(is_loopback(urlsplit(feed.url).hostname) for feed in feeds)
    only_loopback(env, mounts)  # the settings test_image.py and the benchmark start containers with
    only_loopback({**env, "NCR_FOLLOW_HOSTS": "localhost:8443, 127.0.0.2", "DAGSTER_PG_HOST": "::1"}, mounts)


def test_a_container_is_refused_each_real_default_the_project_ships(sandbox):
    """Each way a container's settings could fall back to a real host, taken from the project's own
    files (never requested: the check only reads settings and the mounted list)."""
    env, mounts = container_settings(sandbox)
    example = env_file_values(REPO / ".env.example")
    [first_real, *_] = load_feeds(BUNDLED_FEEDS)
    real_host = urlsplit(first_real.url).hostname
    assert real_host and not is_loopback(real_host)

    refused = {
        "ECONNECT_API_URL": {**env, "ECONNECT_API_URL": example["ECONNECT_API_URL"]},
        "DAGSTER_PG_HOST": {**env, "DAGSTER_PG_HOST": example["DAGSTER_PG_HOST"]},
        "NCR_FOLLOW_HOSTS": {**env, "NCR_FOLLOW_HOSTS": f"127.0.0.2 {real_host}"},
    }
    for name, settings in refused.items():
        with pytest.raises(ValueError, match=rf"^{name} points at [^ ]+, not at this machine"):
            only_loopback(settings, mounts)
    bundled = rf"feed {first_real.operator}, url points at {re.escape(real_host)}"
    with pytest.raises(ValueError, match=bundled):
        only_loopback(env, [(BUNDLED_FEEDS, env["UK_OCPI_FEEDS"])])
    with pytest.raises(ValueError, match=r"UK_OCPI_FEEDS names /opt/pipeline/feeds\.yaml, which is not a"):
        only_loopback({**env, "UK_OCPI_FEEDS": "/opt/pipeline/feeds.yaml"}, mounts)
    without = {name: value for name, value in env.items() if name != "UK_OCPI_FEEDS"}
    with pytest.raises(ValueError, match="UK_OCPI_FEEDS is unset: the container would read the bundled"):
        only_loopback(without, mounts)
    without = {name: value for name, value in env.items() if name != "AWS_ENDPOINT_URL"}
    with pytest.raises(ValueError, match="AWS_ENDPOINT_URL is unset: the container's S3 would be AWS's"):
        only_loopback(without, mounts)


def container_settings(sandbox):
    """The sandbox's settings with its feed list mounted, as test_image.py starts the code server."""
    env = {**sandbox.env(), "UK_OCPI_FEEDS": "/run/ev-insight/feeds.yaml"}
    return env, [(sandbox.ocpi.feeds_path, env["UK_OCPI_FEEDS"])]
