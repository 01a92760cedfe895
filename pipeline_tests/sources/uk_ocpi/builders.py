"""Builders of OCPI 2.2.1 records and feeds for the cleaning tests: every field OCPI requires, by default."""

from pipeline.sources.contract import Rejects
from pipeline.sources.uk_ocpi.schema import Conformance, Connectors, Evses, Locations
from pipeline.sources.uk_ocpi.transforms import Cleaned, FeedLocations, clean_feeds

DROP = object()  # a field the record leaves out


def _with(base, changes):
    return {key: value for key, value in {**base, **changes}.items() if value is not DROP}


def connector(**changes):
    """A connector with every OCPI field, 22 kW by default."""
    base = {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "max_electric_power": 22000,
        "last_updated": "2024-06-02T08:00:00Z",
    }
    return _with(base, changes)


def evse(uid, *connectors, **changes):
    base = {
        "uid": uid,
        "evse_id": f"GB*CGY*{uid}",
        "status": "AVAILABLE",
        "connectors": list(connectors) or [connector()],
        "last_updated": "2024-06-02T08:00:00Z",
    }
    return _with(base, changes)


def location(location_id, *evses, **changes):
    """A location with every field OCPI 2.2.1 requires, in London."""
    base = {
        "country_code": "GB",
        "party_id": "CGY",
        "id": location_id,
        "publish": True,
        "name": f"Car park {location_id}",
        "address": "1 High Street",
        "city": "London",
        "postal_code": "TW6 2RQ",
        "country": "GBR",
        "coordinates": {"latitude": "51.470000", "longitude": "-0.454000"},
        "parking_type": "ON_STREET",
        "time_zone": "Europe/London",
        "last_updated": "2024-05-01T10:00:00Z",
        "evses": list(evses),
    }
    return _with(base, changes)


def feed(*pages, operator="chargy", name="char.gy"):
    """`pages` are lists of locations: item i of page p is served as 'page p, item i'."""
    items = [(f"page {p}, item {i}", raw) for p, page in enumerate(pages) for i, raw in enumerate(page)]
    return FeedLocations(operator=operator, name=name, locations=iter(items))  # consumed once


def clean(*feeds, day=None) -> Cleaned:
    """The feeds cleaned, every table checked against its contract."""
    cleaned = clean_feeds(feeds, day=day)
    for frame, model in [
        (cleaned.locations, Locations),
        (cleaned.evses, Evses),
        (cleaned.connectors, Connectors),
        (cleaned.rejects, Rejects),
        (cleaned.conformance, Conformance),
    ]:
        model.validate(frame, lazy=True)
    return cleaned


def conformance_of(cleaned, operator="chargy"):
    return cleaned.conformance.set_index("operator").loc[operator].to_dict()


def nonzero(row):
    """The row's counts that are not 0, "" or NaN (the stale share without a day)."""
    return {name: value for name, value in row.items() if value not in (0, "") and value == value}
