"""The guards in conftest.py: no test can reach a real host, whatever the code under test asks for."""

import os
import socket

import pytest
import requests

from pipeline_tests.container.podman import only_loopback


def test_a_real_host_is_refused_by_name_before_any_lookup():
    with pytest.raises(requests.ConnectionError, match=r"tests may only reach the sandbox on 127\.0\.0\.1"):
        requests.get("https://char.gy/open-ocpi/locations", timeout=2)


def test_a_real_address_is_refused_before_any_packet():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match=r"not '192\.0\.2\.1'"):
        sock.connect(("192.0.2.1", 443))


def test_every_process_sees_an_empty_feed_list_unless_a_test_names_one(no_real_operators):
    assert os.environ["UK_OCPI_FEEDS"] == str(no_real_operators)
    assert no_real_operators.read_text() == "feeds: []\n"


def test_a_container_is_refused_an_upstream_off_this_machine_or_no_feed_list():
    """The guards above live in this process; a container started by the tests or the benchmark gets
    only settings that point at this machine, checked where every such container is started."""
    here = {"UK_OCPI_FEEDS": "/run/feeds.yaml", "ECONNECT_API_URL": "http://127.0.0.1:8080/api"}
    only_loopback({**here, "AWS_ENDPOINT_URL": "http://127.0.0.2:9000", "NCR_API_URL": "http://localhost/r"})
    with pytest.raises(ValueError, match=r"NCR_API_URL points at feed\.test, not at this machine"):
        only_loopback({**here, "NCR_API_URL": "https://Feed.TEST/registry.json"})
    with pytest.raises(ValueError, match=r"ECONNECT_API_URL points at 192\.0\.2\.1"):
        only_loopback({**here, "ECONNECT_API_URL": "https://192.0.2.1/api"})
    with pytest.raises(ValueError, match="UK_OCPI_FEEDS is unset: the container would read the bundled"):
        only_loopback({"ECONNECT_API_URL": "http://127.0.0.1:8080/api"})
