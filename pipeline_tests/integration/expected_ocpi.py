"""What the UK OCPI outputs must contain, computed straight from the locations the sandbox's fake operators
serve, following the issue's rules in plain Python (never the pipeline's code)."""

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

HEADER = ("Operator", "ParkingType", "Connectors", "MaxPowerKW", "PostCode", "MonthUpdated", "Count")
PHASES = {"AC_3_PHASE": 3, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2}
OUT_OF_ORDER = ("OUTOFORDER", "INOPERATIVE")
# The fakes' style → the wire style the client records for it.
WIRE_STYLES = {
    "ocpi_link": "ocpi",
    "ocpi_total_count": "ocpi",
    "locations_key": "locations_key",
    "data_document": "data_document",
    "bare_array": "bare_array",
}
PAGED = ("ocpi_link", "ocpi_total_count")


@dataclass(frozen=True)
class Evse:
    operator: str  # the feed's slug
    name: str  # the feed's display name
    status: str  # upper case
    parking_type: str
    connectors: str
    max_power_kw: str
    postcode: str
    month: str


def number(value: object) -> Decimal | None:
    """A JSON number, or a string holding one; anything else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def connector_watts(connector: dict) -> Decimal | None:
    given = number(connector.get("max_electric_power"))
    if given is not None and given > 0:
        return given
    volts, amps = number(connector.get("max_voltage")), number(connector.get("max_amperage"))
    if volts is None or amps is None:
        return None
    return volts * amps * PHASES.get(str(connector.get("power_type") or ""), 1)


def kilowatts(watts: Decimal | None) -> str:
    """7400 → "7.4", 22000 → "22", 22080 → "22.1", 150000 → "150"; None → ""."""
    if watts is None:
        return ""
    text = format((watts / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".")


def postcode(raw: object) -> str:
    compact = "".join(str(raw or "").split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def feed_evses(operator: str, name: str, locations: Iterable[dict]) -> list[Evse]:
    """The feed's EVSEs as the outputs count them: published locations, not REMOVED, each id once."""
    kept: dict[tuple[str, str], Evse] = {}
    for location in locations:
        if location.get("publish", True) is False:
            continue
        for evse in location.get("evses") or []:
            key = ("uid", evse["uid"]) if evse.get("uid") else ("evse_id", evse.get("evse_id") or "")
            if not key[1]:
                continue  # a reject: neither uid nor evse_id
            kept.pop(key, None)  # the later copy wins
            status = str(evse.get("status") or "").upper()
            if status == "REMOVED":
                continue
            connectors = [c for c in evse.get("connectors") or [] if isinstance(c, dict)]
            watts = [w for w in map(connector_watts, connectors) if w is not None]
            kept[key] = Evse(
                operator=operator,
                name=name,
                status=status,
                parking_type=location.get("parking_type") or "",
                connectors="+".join(sorted({c["standard"] for c in connectors if c.get("standard")})),
                max_power_kw=kilowatts(max(watts, default=None)),
                postcode=postcode(location.get("postal_code")),
                month=(evse.get("last_updated") or location.get("last_updated") or "")[:7],
            )
    return list(kept.values())


def all_evses(sandbox, operators: Iterable[str]) -> list[Evse]:
    """Every EVSE of the named feeds of `sandbox` (a running `pipeline.sandbox.Sandbox`)."""
    names = {spec.operator: spec.name for spec in sandbox.ocpi.specs}
    return [evse for op in operators for evse in feed_evses(op, names[op], sandbox.ocpi.locations[op])]


def charge_points_csv(evses: Iterable[Evse]) -> str:
    counts = Counter(
        (e.name, e.parking_type, e.connectors, e.max_power_kw, e.postcode, e.month) for e in evses
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows((*key, count) for key, count in sorted(counts.items()))
    return out.getvalue()


def status_counts(evses: Iterable[Evse]) -> Counter:
    """EVSEs per (operator slug, status)."""
    return Counter((e.operator, e.status) for e in evses)


def out_of_order(evses: Iterable[Evse]) -> Counter:
    """Per operator slug: EVSEs that are OUTOFORDER or INOPERATIVE."""
    return Counter(e.operator for e in evses if e.status in OUT_OF_ORDER)


def pages(spec, locations: int) -> int:
    """Pages a complete read of the fake takes: a paged fake stops after the page reaching its total."""
    return max(1, math.ceil(locations / spec.page_size)) if spec.style in PAGED else 1
