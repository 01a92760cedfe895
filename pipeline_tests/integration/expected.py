"""What the outputs must contain, computed straight from the sandbox's data without the pipeline's code."""

import csv
import io
from collections import Counter


def latest_stations(stations: list[dict]) -> dict[str, dict]:
    latest: dict[str, dict] = {}
    for record in stations:
        latest.pop(str(record["id"]), None)
        latest[str(record["id"])] = record
    return latest


def station_value_counts(stations: list[dict], field: str) -> Counter:
    return Counter(record.get(field) or "" for record in latest_stations(stations).values())


def uk_devices_without_model(registry: dict) -> int:
    latest = {device["ChargeDeviceId"]: device for device in registry["ChargeDevice"]}
    return sum(1 for device in latest.values() if not (device.get("ChargeDeviceModel") or "").strip())


def uk_csv_text(registry: dict) -> str:
    latest = {device["ChargeDeviceId"]: device for device in registry["ChargeDevice"]}
    counts: Counter = Counter()
    for device in latest.values():
        model = device.get("ChargeDeviceModel")
        if not model or not model.strip():
            continue
        address = (device.get("ChargeDeviceLocation") or {}).get("Address") or {}
        postcode = "".join((address.get("PostCode") or "").split()).upper()
        if len(postcode) > 3:
            postcode = postcode[:-3] + " " + postcode[-3:]
        key = (
            device.get("ChargeDeviceManufacturer") or "",
            device.get("LocationType") or "",
            model,
            postcode,
            (device.get("DateUpdated") or "")[:7],
        )
        counts[key] += 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["ChargeDeviceManufacturer", "LocationType", "ChargeDeviceModel", "PostCode", "MonthUpdated", "Count"]
    )
    writer.writerows((*key, count) for key, count in sorted(counts.items()))
    return out.getvalue()
