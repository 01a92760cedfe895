"""What the OCPI feeds source registers, and when it is on: when its feed list names at least one feed.

The list is the bundled `feeds.yaml` unless `UK_OCPI_FEEDS` names another file; `feeds: []` turns the
source off. A list that does not parse fails here, when the code loads, naming the file, entry and key.
The upload of charge_points_UK.csv also needs `PIPELINE_S3_BUCKET`. A feed may send at most
`UK_OCPI_MAX_BYTES` a day (default 1 GiB) and `UK_OCPI_MAX_PAGE_BYTES` a page (default 256 MiB).
"""

from collections.abc import Mapping

from dagster import Definitions

from pipeline.resources.http import HttpSettings
from pipeline.sources.plugin import Source, SourceContext
from pipeline.sources.uk_ocpi import NAME
from pipeline.sources.uk_ocpi.assets import build_assets
from pipeline.sources.uk_ocpi.client import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PAGE_BYTES,
    MAX_BYTES,
    MAX_PAGE_BYTES,
    OcpiFeeds,
)
from pipeline.sources.uk_ocpi.feeds import SETTING, feeds_file, load_feeds
from pipeline.sources.uk_ocpi.fetch import build_fetch_asset
from pipeline.sources.uk_ocpi.price_assets import build_price_assets

UPLOAD = "the CSV uploads (uk_ocpi_charge_points_csv, uk_ocpi_charge_prices_csv)"
BUCKET = "PIPELINE_S3_BUCKET"


def polite(context: SourceContext) -> HttpSettings:
    """Fewer, shorter retries than the other sources: a feed may allow 30 requests an hour, and a feed
    that is down should cost the run seconds, not minutes (`UK_OCPI_MAX_ATTEMPTS`, default 3)."""
    attempts = int(context.get("UK_OCPI_MAX_ATTEMPTS", "3"))
    return context.http.model_copy(
        update={
            "max_attempts": min(attempts, context.http.max_attempts),
            "backoff_max_s": min(10.0, context.http.backoff_max_s),
        }
    )


def build(context: SourceContext) -> Definitions:
    feeds = load_feeds(feeds_file(context.environ))
    return Definitions(
        assets=[
            build_fetch_asset(feeds),
            *build_assets(feeds, upload=context.has(BUCKET)),
            *build_price_assets(feeds, upload=context.has(BUCKET)),
        ],
        resources={
            NAME: OcpiFeeds(
                feeds_file=context.get(SETTING),
                max_concurrency=int(context.get("UK_OCPI_MAX_CONCURRENCY", "8")),
                max_drop=float(context.get("UK_OCPI_MAX_DROP", "0.2")),
                max_bytes=int(context.get(MAX_BYTES, str(DEFAULT_MAX_BYTES))),
                max_page_bytes=int(context.get(MAX_PAGE_BYTES, str(DEFAULT_MAX_PAGE_BYTES))),
                http=polite(context),
            )
        },
    )


def no_feeds(environ: Mapping[str, str]) -> str | None:
    path = feeds_file(environ)
    return None if load_feeds(path) else f"not configured (the feed list {path} names no feeds)"


SOURCE = Source(
    name=NAME,
    description="UK operators' OCPI 2.2.1 Locations feeds → EVSE tables, conformance, charge_points_UK.csv.",
    needs=(),
    build=build,
    parts={UPLOAD: (BUCKET,)},
    off_when=no_feeds,
    on_because=lambda environ: f"{len(load_feeds(feeds_file(environ)))} feeds in {feeds_file(environ)}",
)
