"""Local sandbox: one fake per source (``econnect``, ``uk_registry``, ``uk_ocpi``) plus a local S3, run by
``Sandbox``.

For the demo, integration tests and benchmarks only; production code never imports this package.
``LocalS3`` (and with it moto) is imported lazily, so using just the data generators or the HTTP
fakes stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Self, TypeVar

from pipeline.sandbox._service import Service, close_stack, temporary_file
from pipeline.sandbox.econnect import BUSINESS_PARTNER, PASSWORD, USERNAME, EConnectServer, make_stations
from pipeline.sandbox.faults import Fault
from pipeline.sandbox.uk_ocpi import FeedSpec, OcpiOperatorServer, OcpiSandbox, make_locations
from pipeline.sandbox.uk_registry import RegistryServer, make_registry

if TYPE_CHECKING:
    from pipeline.sandbox.s3 import LocalS3

__all__ = [
    "BUSINESS_PARTNER",
    "PASSWORD",
    "USERNAME",
    "EConnectServer",
    "Fault",
    "FeedSpec",
    "OcpiOperatorServer",
    "OcpiSandbox",
    "RegistryServer",
    "Sandbox",
    "make_locations",
    "make_registry",
    "make_stations",
]

_T = TypeVar("_T")


class Sandbox(Service):
    """Every fake upstream and a local S3 bucket, started together and stopped together.

    ``ocpi=False`` leaves out the fake UK OCPI operators (``OcpiSandbox``, default feeds); ``env()`` then
    names an empty feed list, so no process started with it ever reads the bundled list of real operators.

    ``econnect_password`` replaces the fake eConnect's fixed password, for a test whose secrets must be
    its own (a value nothing in the package holds).

    ``env()`` gives every variable the pipeline reads to reach them; PIPELINE_DATA_DIR and
    PIPELINE_S3_PREFIX are left to the caller because they are per run, not per sandbox.
    """

    def __init__(
        self,
        *,
        stations: int = 1234,
        devices: int = 2345,
        latency_s: float = 0.0,
        econnect_faults: Mapping[int, Sequence[Fault]] | None = None,
        ncr_faults: Sequence[Fault] | None = None,
        drift_after_page: int | None = None,
        ocpi: bool = True,
        econnect_password: str = PASSWORD,
    ) -> None:
        self.stations: list[dict] = make_stations(stations)
        self.registry: dict = make_registry(devices)
        self._latency_s = latency_s
        self._econnect_faults = econnect_faults
        self._ncr_faults = ncr_faults
        self._drift_after_page = drift_after_page
        self._econnect: EConnectServer | None = None
        self._ncr: RegistryServer | None = None
        self._ocpi_enabled = ocpi
        self._econnect_password = econnect_password
        self._ocpi: OcpiSandbox | None = None
        self._no_feeds: Path | None = None  # with ocpi=False: an empty feed list, so no real feed is read
        self._s3: LocalS3 | None = None
        self._stack: ExitStack | None = None

    @property
    def econnect(self) -> EConnectServer:
        return _running(self._econnect)

    @property
    def ncr(self) -> RegistryServer:
        return _running(self._ncr)

    @property
    def ocpi(self) -> OcpiSandbox:
        return _running(self._ocpi)

    @property
    def s3(self) -> LocalS3:
        return _running(self._s3)

    def start(self) -> Self:
        """Start every part; if one fails, the ones already running are stopped again."""
        from pipeline.sandbox.s3 import LocalS3

        if self._stack is not None:
            return self
        with ExitStack() as stack:
            self._econnect = stack.enter_context(
                EConnectServer(
                    self.stations,
                    USERNAME,
                    self._econnect_password,
                    BUSINESS_PARTNER,
                    latency_s=self._latency_s,
                    faults=self._econnect_faults,
                    drift_after_page=self._drift_after_page,
                )
            )
            self._ncr = stack.enter_context(
                RegistryServer(self.registry, latency_s=self._latency_s, faults=self._ncr_faults)
            )
            if self._ocpi_enabled:
                self._ocpi = stack.enter_context(OcpiSandbox(latency_s=self._latency_s))
            else:  # never the bundled list: it names real operators
                self._no_feeds = temporary_file(stack, "sandbox-no-feeds-", "feeds.yaml", "feeds: []\n")
            self._s3 = stack.enter_context(LocalS3())
            self._stack = stack.pop_all()
        return self

    def stop(self) -> None:
        """Stop everything in reverse start order; safe to call twice."""
        close_stack(self)
        self._econnect = self._ncr = self._s3 = None
        self._ocpi = None

    def env(self) -> dict[str, str]:
        """Every variable the pipeline reads to reach the sandbox (upstreams, credentials, S3)."""
        return {
            "ECONNECT_API_URL": self.econnect.base_url,
            "ECONNECT_USERNAME": self.econnect.username,
            "ECONNECT_PASSWORD": self.econnect.password,
            "ECONNECT_BUSINESS_PARTNER": self.econnect.business_partner,
            "NCR_API_URL": self.ncr.url,
            **self.s3.env(),
            **(self.ocpi.env() if self._ocpi_enabled else {"UK_OCPI_FEEDS": str(self._no_feeds)}),
        }


def _running(component: _T | None) -> _T:
    """The component, or a clear error when the sandbox has not been started."""
    if component is None:
        raise RuntimeError("Sandbox is not running; use it as a context manager")
    return component
