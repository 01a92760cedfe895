"""The guards in conftest.py: no test can reach a real host, whatever the code under test asks for."""

import os
import socket

import pytest
import requests


def test_a_real_host_is_refused_by_name_before_any_lookup():
    with pytest.raises(requests.ConnectionError, match=r"tests may only reach the sandbox on 127\.0\.0\.1"):
        requests.get("https://char.gy/open-ocpi/locations", timeout=2)


def test_a_real_address_is_refused_before_any_packet():
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match=r"not '192\.0\.2\.1'"):
        sock.connect(("192.0.2.1", 443))


def test_every_process_sees_an_empty_feed_list_unless_a_test_names_one(no_real_operators):
    assert os.environ["UK_OCPI_FEEDS"] == str(no_real_operators)
    assert no_real_operators.read_text() == "feeds: []\n"
