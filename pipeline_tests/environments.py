"""Environments for tests: `environment()` applies one to this process for a block; the constants are for
tests that build definitions without running anything (every source on, every upstream a closed port on
127.0.0.1, so nothing could ever reach a real host)."""

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.sandbox import BUSINESS_PARTNER, PASSWORD, USERNAME

DEAD = "http://127.0.0.1:9"
FEEDS = Path(tempfile.mkdtemp(prefix="feeds.")) / "unreachable.yaml"
FEEDS.write_text(
    "feeds:\n"
    f"  - {{operator: alpha, name: Alpha, url: '{DEAD}/alpha/locations'}}\n"
    f"  - {{operator: beta, name: Beta, url: '{DEAD}/beta/locations', token_env: BETA_TOKEN}}\n"
)
NO_FEEDS = FEEDS.with_name("none.yaml")
NO_FEEDS.write_text("feeds: []\n")

EMPTY_LAKE = Path(tempfile.mkdtemp(prefix="lake."))  # no stored day: the partitions start today

ALL_SOURCES_ON = {
    "PIPELINE_DATA_DIR": str(EMPTY_LAKE),
    "ECONNECT_API_URL": DEAD,
    "ECONNECT_USERNAME": USERNAME,
    "ECONNECT_PASSWORD": PASSWORD,
    "ECONNECT_BUSINESS_PARTNER": BUSINESS_PARTNER,
    "NCR_API_URL": f"{DEAD}/registry.json",
    "PIPELINE_S3_BUCKET": "ev-insight-sandbox",
    "UK_OCPI_FEEDS": str(FEEDS),
}


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in this process's environment for the block, as it was afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield
