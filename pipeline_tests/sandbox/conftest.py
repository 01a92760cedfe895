"""Fixtures for the sandbox tests: generated data once per session, servers per test (they are cheap)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from pipeline.sandbox import (
    BUSINESS_PARTNER,
    PASSWORD,
    USERNAME,
    EConnectServer,
    make_registry,
    make_stations,
)


@pytest.fixture(scope="session")
def stations() -> list[dict]:
    return make_stations()


@pytest.fixture(scope="session")
def registry() -> dict:
    return make_registry()


@pytest.fixture
def start_econnect(stations: list[dict]) -> Iterator[Callable[..., EConnectServer]]:
    """``start_econnect(**kwargs)`` starts a server over the default stations; all stop at teardown."""
    started: list[EConnectServer] = []

    def start(**kwargs: Any) -> EConnectServer:
        server = EConnectServer(
            kwargs.pop("stations", stations), USERNAME, PASSWORD, BUSINESS_PARTNER, **kwargs
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def get_page() -> Iterator[Callable[..., requests.Response]]:
    """``get_page(server, page, size=100, **request_kwargs)`` with the right credentials and partner."""
    session = requests.Session()

    def get(server: EConnectServer, page: int, size: int = 100, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("auth", (USERNAME, PASSWORD))
        kwargs.setdefault("timeout", 5)
        url = f"{server.base_url}/masterdata/cpos/{BUSINESS_PARTNER}/chargingstations"
        return session.get(url, params={"page": page, "size": size}, **kwargs)

    yield get
    session.close()
