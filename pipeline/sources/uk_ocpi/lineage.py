"""Where the derived uk_ocpi tables' columns come from (Dagster's column lineage), declared once, and the
contract of the conformance table, which joins the cleaning's counts to each feed's fetch."""

import pandas as pd
import pandera.pandas as pandera
from pandera.typing import Series

from pipeline.sources import catalog
from pipeline.sources.uk_ocpi.schema import Conformance, Evses
from pipeline.sources.uk_ocpi.status import FEEDS


class FeedConformance(Conformance):
    """Per feed and day: how the feed departs from OCPI 2.2.1, and what its fetch took."""

    day: Series[str] = pandera.Field(description="The snapshot day, YYYY-MM-DD.")
    wire_style: Series[str] = pandera.Field(description="How the feed wraps its locations (see raw.py).")
    pages: Series[int] = pandera.Field(
        ge=0, description="Pages stored, the empty one that ends paging included."
    )
    records: Series[int] = pandera.Field(ge=0, description="Locations in the stored pages.")
    declared_total: Series[pd.Int64Dtype] = pandera.Field(
        nullable=True, description="The largest X-Total-Count the feed declared; null when none."
    )
    short: Series[str] = pandera.Field(description="Why the snapshot looks short; '' when it does not.")
    ended: Series[str] = pandera.Field(description="How the paging ended.")
    boms: Series[int] = pandera.Field(ge=0, description="Pages that began with a UTF-8 BOM (skipped).")
    http_requests: Series[int] = pandera.Field(ge=0, description="Requests the fetch made, retries included.")
    http_retries: Series[int] = pandera.Field(ge=0, description="Requests that were retried.")


E, C = "evses[].", "evses[].connectors[]."  # where EVSE and connector fields sit in a feed's location
# A connector's power: max_electric_power, else volts × amps × phases (OCPI 2.1.1's voltage/amperage too).
POWER_FROM: list[catalog.Source] = [
    f"{C}{name}"
    for name in ("max_electric_power", "max_voltage", "max_amperage", "voltage", "amperage", "power_type")
]
OPERATOR: dict[str, list[catalog.Source]] = {
    "operator": [(FEEDS, "operator")],
    "operator_name": [(FEEDS, "name")],
}
LOCATIONS_FROM: dict[str, list[catalog.Source]] = {
    **OPERATOR,
    "location_id": ["id"],
    "postcode": ["postal_code"],
    "latitude": ["coordinates"],
    "longitude": ["coordinates"],
    "parking_type": ["parking_type", "type"],
}
EVSES_FROM: dict[str, list[catalog.Source]] = {
    **LOCATIONS_FROM,
    "uid": [f"{E}uid"],
    "evse_id": [f"{E}evse_id"],
    "status": [f"{E}status"],
    "connector_standards": [f"{C}standard"],
    "power_types": [f"{C}power_type"],
    "max_power_kw": [*POWER_FROM],
    "last_updated": [f"{E}last_updated", "last_updated"],
}
CONNECTORS_FROM: dict[str, list[catalog.Source]] = {
    "operator": OPERATOR["operator"],
    "location_id": ["id"],
    "evse": [f"{E}uid", f"{E}evse_id"],
    "connector_id": [f"{C}id"],
    **{name: [f"{C}{name}"] for name in ("standard", "format", "power_type")},
    "max_voltage": [f"{C}max_voltage", f"{C}voltage"],
    "max_amperage": [f"{C}max_amperage", f"{C}amperage"],
    "max_electric_power": [f"{C}max_electric_power"],
    "power_w": [*POWER_FROM],
    "tariff_ids": [f"{C}tariff_ids", f"{C}tariff_id"],
}
FROM_EVSES = {"uk_ocpi_evses": catalog.columns(Evses)}
FETCH_COLUMNS = ["wire_style", "pages", "records", "declared_total", "short", "ended", "boms"]
FETCH_COLUMNS += ["http_requests", "http_retries"]
CONFORMANCE_FROM: dict[str, list[catalog.Source]] = {
    **{name: [] for name in catalog.columns(FeedConformance)},
    **OPERATOR,
    **{name: [(FEEDS, name)] for name in FETCH_COLUMNS},
    **{name: ["id", "publish"] for name in ("locations", "published_locations", "unpublished_locations")},
    "duplicate_locations": ["id"],
    "non_uk_locations": ["country"],
    "reused_evse_uids": ["id", f"{E}uid"],
    "statuses_mapped": [f"{E}status"],
    "ocpi_211_parking_types": ["parking_type", "type"],
    "ocpi_211_powers": [f"{C}voltage", f"{C}amperage"],
    **{name: [f"{E}last_updated", "last_updated"] for name in ("stale_evses", "stale_evses_share")},
    **{
        name: [f"{E}uid", f"{E}evse_id", f"{E}status"]
        for name in ("evses", "removed_evses", "duplicate_evses")
    },
}
