"""The synthetic data is deterministic and carries the dirty values at the promised rates."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date

from pipeline.sandbox import make_registry, make_stations

FORMULA_START = ("=", "+", "-", "@")
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")


def _between(value: int, low: int, high: int) -> bool:
    return low <= value <= high


def test_same_seed_same_data_other_seed_other_data(stations, registry):
    assert make_stations() == stations
    assert make_registry() == registry
    assert make_stations(seed=8) != stations
    assert make_registry(seed=12) != registry


def test_station_ids_and_shape(stations):
    assert len(stations) == 1234
    assert len({station["id"] for station in stations}) == 1234
    assert all(re.fullmatch(r"DE\*EBS\*E\d{6}", station["id"]) for station in stations)
    first = stations[0]
    assert {"id", "name", "address", "evses", "latitude", "longitude", "operatorId"} <= set(first)
    assert set(first["address"]) == {"street", "city", "zip", "country"}
    assert all(evse["evseId"].startswith(first["id"]) for evse in first["evses"])


def test_station_model_info_dirt(stations):
    models = [station.get("modelInfo", "<missing>") for station in stations]
    assert _between(models.count(None), 25, 50)  # ~3 %
    assert _between(models.count("<missing>"), 6, 20)  # ~1 %
    assert _between(models.count(""), 6, 20)  # ~1 %
    formulas = [m for m in models if m and m != "<missing>" and m.startswith(FORMULA_START)]
    assert _between(len(formulas), 3, 5)
    assert '=HYPERLINK("http://evil.example","click")' in formulas
    assert _between(len({m for m in models if m and m not in formulas and m != "<missing>"}), 10, 14)


def test_station_type_and_state(stations):
    types = Counter(station["type"] for station in stations)
    assert set(types) == {"AC", "DC", None}
    assert _between(types[None], 12, 37)
    states = Counter(station.get("state", "<missing>") for station in stations)
    assert set(states) == {
        "OPERATIONAL",
        "PLANNED",
        "IN_INSTALLATION",
        "FAULTED",
        "DECOMMISSIONED",
        None,
        "<missing>",
    }
    assert states.most_common(1)[0][0] == "OPERATIONAL"
    assert _between(states[None], 12, 37)
    assert _between(states["<missing>"], 6, 20)


def test_install_dates_mix_iso_forms_and_garbage(stations):
    dates = [station["installDate"] for station in stations]
    forms = {
        "date": r"\d{4}-\d\d-\d\d",
        "zulu": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
        "offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d",
        "millis": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
        "micros_offset": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d",
        "naive": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
    }
    counts = {name: sum(bool(d and re.fullmatch(p, d)) for d in dates) for name, p in forms.items()}
    assert all(count > 100 for count in counts.values()), counts
    assert _between(dates.count(None), 12, 37)
    garbage = [d for d in dates if d is not None and not re.match(r"\d{4}-\d\d-\d\d", d)]
    assert set(garbage) == {"31/02/2021", "not a date", ""}
    assert _between(len(garbage), 6, 20)  # ~1 %
    years = {date.fromisoformat(d[:10]).year for d in dates if d and re.match(r"\d{4}-", d)}
    assert min(years) == 2017 and max(years) == 2025


def test_registry_shape(registry):
    assert registry["Scheme"]["SchemeCode"] == "OCPI"
    devices = registry["ChargeDevice"]
    assert len(devices) == 2345
    device = devices[0]
    assert re.fullmatch(r"[0-9a-f]{32}", device["ChargeDeviceId"])
    assert device["DateDeleted"] == "n/a" and device["PublishStatusID"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", device["DateCreated"])
    assert set(device["ChargeDeviceLocation"]["Address"]) >= {"PostTown", "PostCode", "Country", "Street"}
    assert all(isinstance(c["RatedOutputkW"], str) for c in device["Connector"])


def test_registry_has_a_handful_of_exact_duplicates(registry):
    devices = registry["ChargeDevice"]
    counts = Counter(device["ChargeDeviceId"] for device in devices)
    repeated = [device_id for device_id, count in counts.items() if count > 1]
    assert len(repeated) == 5
    assert all(counts[device_id] == 2 for device_id in repeated)
    for device_id in repeated:
        first, second = (d for d in devices if d["ChargeDeviceId"] == device_id)
        assert first == second and first is not second


def test_registry_model_manufacturer_and_location_type(registry):
    devices = registry["ChargeDevice"]
    models = [device["ChargeDeviceModel"] for device in devices]
    assert _between(models.count(None), 70, 120)  # ~4 %
    assert _between(models.count(""), 30, 65)  # ~2 %
    assert _between(len(set(models) - {None, ""}), 15, 20)
    makers = [device["ChargeDeviceManufacturer"] for device in devices]
    assert _between(makers.count(None), 50, 90)  # ~3 %
    location_types = [device["LocationType"] for device in devices]
    assert _between(location_types.count(None), 30, 65)
    assert "Public car park" in location_types and "On-street" in location_types


def test_postcodes_vary_in_form_but_come_from_a_small_pool(registry):
    postcodes = [d["ChargeDeviceLocation"]["Address"]["PostCode"] for d in registry["ChargeDevice"]]
    assert _between(postcodes.count(None), 30, 65)
    assert _between(postcodes.count(""), 15, 35)
    present = [p for p in postcodes if p]
    assert any(p != p.upper() for p in present)
    assert any(" " not in p for p in present)
    assert any(p != p.strip() or "  " in p for p in present)
    normalised = Counter(re.sub(r"\s+", "", p).upper() for p in present)
    assert _between(len(normalised), 120, 150)
    assert normalised["TW62RQ"] > 1
    assert sum(bool(UK_POSTCODE.match(p)) for p in present) > 0.8 * len(present)


def test_date_updated_format_and_gaps(registry):
    updated = [device["DateUpdated"] for device in registry["ChargeDevice"]]
    assert _between(updated.count(None), 50, 90)
    present = [u for u in updated if u is not None]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", u) for u in present)
    assert min(present)[:4] >= "2019" and max(present)[:4] <= "2025"


def test_awkward_free_text_survives_a_csv_round_trip(registry):
    awkward = [
        (d["ChargeDeviceManufacturer"], d["ChargeDeviceModel"])
        for d in registry["ChargeDevice"]
        if any(ch in (d["ChargeDeviceModel"] or "") + (d["ChargeDeviceManufacturer"] or "") for ch in ',"\n')
    ]
    assert ("Wallbox", 'Wallbox "Pulsar", Plus') in awkward
    assert any("\n" in (maker or "") + (model or "") for maker, model in awkward)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(awkward)
    assert [tuple(row) for row in csv.reader(io.StringIO(buffer.getvalue()))] == awkward


def test_small_counts_stay_exact():
    for count in (0, 1, 10, 150):
        assert len(make_stations(count)) == count
        assert len(make_registry(count)["ChargeDevice"]) == count
