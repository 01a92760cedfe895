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
OCPI_STATUSES = ("AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED")
OCPI_STATUSES += ("RESERVED", "UNKNOWN")
# The fakes' style → the wire style the client records for it.
WIRE_STYLES = {
    "ocpi_link": "ocpi",
    "ocpi_total_count": "ocpi",
    "locations_key": "locations_key",
    "data_document": "data_document",
    "bare_array": "bare_array",
    "nested_envelope": "nested_envelope",
    "ocpi_camel": "ocpi_camel",
}
PAGED = ("ocpi_link", "ocpi_total_count", "ocpi_camel")


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
    """max_electric_power when above 0, else volts × amps × phases; OCPI 2.1.1's `voltage` and `amperage`
    stand in for `max_voltage` and `max_amperage` when those are absent (or unreadable)."""
    given = number(connector.get("max_electric_power"))
    if given is not None and given > 0:
        return given
    volts = number(connector.get("max_voltage"))
    amps = number(connector.get("max_amperage"))
    volts = number(connector.get("voltage")) if volts is None else volts
    amps = number(connector.get("amperage")) if amps is None else amps
    if volts is None or amps is None or volts <= 0 or amps <= 0:
        return None
    return volts * amps * PHASES.get(str(connector.get("power_type") or "").upper(), 1)


def kilowatts(watts: Decimal | None) -> str:
    """7400 → "7.4", 22000 → "22", 22080 → "22.1", 150000 → "150"; None → ""."""
    if watts is None:
        return ""
    text = format((watts / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".")


def postcode(raw: object) -> str:
    compact = "".join(str(raw or "").split()).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def text(value: object) -> str:
    """An id or a text as the outputs show it: a whole number without a fraction, text trimmed."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return "" if not isinstance(value, bool) else str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def status_of(evse: dict) -> str:
    """Upper case; an OCPI status written with separators (`OUT_OF_ORDER`) read as OCPI writes it."""
    status = text(evse.get("status")).upper()
    joined = "".join(status.replace("_", " ").replace("-", " ").split())
    return joined if joined in OCPI_STATUSES else status


def parking_of(location: dict) -> str:
    """`parking_type`, else OCPI 2.1.1's `type` (whose OTHER and UNKNOWN say nothing), upper case."""
    given = text(location.get("parking_type")).upper()
    if given:
        return given
    kind = text(location.get("type")).upper()
    return "" if kind in ("OTHER", "UNKNOWN") else kind


def in_uk(location: dict) -> bool:
    country = text(location.get("country")).upper()
    return not country or country in ("GBR", "GB", "UK")


def feed_evses(operator: str, name: str, locations: Iterable[dict]) -> list[Evse]:
    """The feed's EVSEs as the outputs count them (see `counted_evses`)."""
    evses = []
    for location, evse in counted_evses(locations):
        connectors = [c for c in evse.get("connectors") or [] if isinstance(c, dict)]
        watts = [w for w in map(connector_watts, connectors) if w is not None]
        evses.append(
            Evse(
                operator=operator,
                name=name,
                status=status_of(evse),
                parking_type=parking_of(location),
                connectors="+".join(sorted({text(c.get("standard")) for c in connectors} - {""})),
                max_power_kw=kilowatts(max(watts, default=None)),
                postcode=postcode(location.get("postal_code")),
                month=(text(evse.get("last_updated")) or text(location.get("last_updated")))[:7],
            )
        )
    return evses


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


# --- Prices (issue 17), from the served tariffs, by the rules, without the project's code ---------

BANDS = ("slow", "fast", "rapid", "ultra_rapid", "unknown")
CENT = Decimal("0.01")
PRICES_HEADER = (
    "Operator",
    "PowerBand",
    "Connectors",
    "PricedConnectors",
    "MinPencePerKWh",
    "MedianPencePerKWh",
    "MaxPencePerKWh",
)


def band(watts: Decimal | None) -> str:
    if watts is None:
        return "unknown"
    kw = (watts / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return "slow" if kw < 8 else "fast" if kw < 50 else "rapid" if kw < 150 else "ultra_rapid"


def tariff_refs(connector: dict) -> list[str]:
    ids = connector.get("tariff_ids")
    if isinstance(ids, list):
        return [text(i) for i in ids if text(i)]
    single = text(ids) or text(connector.get("tariff_id"))
    return [single] if single else []


def chosen(found: list[dict]) -> dict:
    kinds = [text(t.get("type")).upper() for t in found]
    for index, kind in enumerate(kinds):
        if kind == "AD_HOC_PAYMENT":
            return found[index]
    for index, kind in enumerate(kinds):
        if kind in ("REGULAR", ""):
            return found[index]
    return found[0]


def price_of(tariff: dict) -> tuple[Decimal | None, str]:
    """(price_min_p, reason) of one tariff by the rules; reason '' when priced."""
    currency = text(tariff.get("currency")).upper()
    if currency != "GBP":
        return None, f"currency:{currency}" if currency else "no_currency"
    components = [
        c
        for element in tariff.get("elements") or []
        if isinstance(element, dict)
        for c in element.get("price_components") or []
        if isinstance(c, dict)
    ]
    if components and all(number(c.get("price")) == 0 for c in components):
        return Decimal("0.00"), ""
    energy = [c for c in components if text(c.get("type")).upper() == "ENERGY"]
    values = []
    for component in energy:
        price = number(component.get("price"))
        if price is None:
            return None, "no_energy_price"
        vat = number(component.get("vat"))
        pence = price * 100 * (1 + vat / 100) if vat is not None else price * 100
        values.append(pence.quantize(CENT, rounding=ROUND_HALF_UP))
    if not values:
        return None, "no_energy_price"
    return min(values), ""


def connector_prices(
    feeds: dict[str, tuple[str, list[dict]]],
    published: dict[str, list[dict] | None],
    tariffs_from: dict[str, tuple[str, ...]],
) -> list[tuple[str, str, Decimal | None]]:
    """(operator name, band, price_min_p or None) per connector of every counted EVSE; `feeds`: slug ->
    (name, served locations); `published`: slug -> its tariffs (None: unavailable that day)."""
    rows = []
    for operator, (name, locations) in feeds.items():
        for _, evse in counted_evses(locations):
            for connector in [c for c in evse.get("connectors") or [] if isinstance(c, dict)]:
                price, _ = connector_price(operator, connector, published, tariffs_from)
                rows.append((name, band(connector_watts(connector)), price))
    return rows


def connector_price(operator, connector, published, tariffs_from) -> tuple[Decimal | None, str]:
    refs = tariff_refs(connector)
    if not refs:
        return None, "no_tariff"
    searched = [operator, *[f for f in tariffs_from.get(operator, ()) if f != operator]]
    found = []
    for ref in refs:
        for feed in searched:
            match = [t for t in published.get(feed) or [] if text(t.get("id")).casefold() == ref.casefold()]
            if match:
                found.append(match[-1])
                break
    if not found:
        return None, "tariff_not_found"
    return price_of(chosen(found))


def counted_evses(locations: Iterable[dict]) -> list[tuple[dict, dict]]:
    """(location, EVSE) of every EVSE the outputs count: each location id once (its later copy, with that
    copy's EVSEs), published, in the UK; EVSEs keyed by location and uid (else evse_id), not REMOVED."""
    sites: dict[object, dict] = {}
    for position, location in enumerate(locations):
        site_id = text(location.get("id")).casefold()
        key = site_id if site_id else ("no id", position)
        sites.pop(key, None)
        sites[key] = location
    kept: dict[tuple, tuple[dict, dict]] = {}
    for key, location in sites.items():
        if location.get("publish", True) is False or str(location.get("publish")).lower() == "false":
            continue
        if not in_uk(location):
            continue
        for evse in location.get("evses") or []:
            evse_key = (text(evse.get("uid")) or text(evse.get("evse_id"))).casefold()
            if not evse_key:
                continue
            where = key if isinstance(key, str) else ""
            kept.pop((where, evse_key), None)
            if status_of(evse) != "REMOVED":
                kept[(where, evse_key)] = (location, evse)
    return list(kept.values())


def charge_prices_csv(rows: Iterable[tuple[str, str, Decimal | None]]) -> str:
    groups: dict[tuple[str, str], list[Decimal | None]] = {}
    for name, power_band, price in rows:
        groups.setdefault((name, power_band), []).append(price)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PRICES_HEADER)
    for name, power_band in sorted(groups, key=lambda key: (key[0], BANDS.index(key[1]))):
        priced = sorted(p for p in groups[name, power_band] if p is not None)
        middle = len(priced) // 2
        median = (
            None
            if not priced
            else priced[middle]
            if len(priced) % 2
            else (priced[middle - 1] + priced[middle]) / 2
        )
        cells = [
            "" if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))
            for value in (priced[0] if priced else None, median, priced[-1] if priced else None)
        ]
        writer.writerow([name, power_band, len(groups[name, power_band]), len(priced), *cells])
    return out.getvalue()
