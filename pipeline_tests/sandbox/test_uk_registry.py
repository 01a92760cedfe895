"""The fake UK registry serves its one document like the real one; the devices carry the dirty values at
the promised rates."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter

import requests

from pipeline.sandbox.uk_registry import NCR_PATH, RegistryServer

UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")


def _between(value: int, low: int, high: int) -> bool:
    return low <= value <= high


def test_ncr_serves_the_document(registry):
    with RegistryServer(registry) as server:
        assert server.url == f"{server.base_url}{NCR_PATH}"
        response = requests.get(server.url, timeout=10)
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert json.loads(response.content) == registry
        assert requests.get(f"{server.base_url}/api/other", timeout=5).status_code == 404
        assert server.requests == [(NCR_PATH, 200), ("/api/other", 404)]


def test_ncr_serves_bytes_as_given():
    document = b'{"Scheme": {}, "ChargeDevice": []}'
    with RegistryServer(document) as server:
        assert requests.get(server.url, timeout=5).content == document


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
