"""The registry's raw zone: the one JSON document, exactly as downloaded, read back as a stream."""

from __future__ import annotations

from collections.abc import Iterator

import ijson

from pipeline.resources.raw_zone import RawSnapshot

DOCUMENT = "registry.json"


def read_charge_devices(snapshot: RawSnapshot) -> Iterator[object]:
    """Stream `ChargeDevice` items from a stored registry document, never loading it whole."""
    items = 0
    with snapshot.open(DOCUMENT) as stream:
        for item in ijson.items(stream, "ChargeDevice.item", use_float=True):
            items += 1
            yield item
    if items == 0:
        _require_device_list(snapshot)


def _require_device_list(snapshot: RawSnapshot) -> None:
    """No devices came out: tell an empty `ChargeDevice` list apart from a document without one."""
    with snapshot.open(DOCUMENT) as stream:
        for prefix, event, _ in ijson.parse(stream):
            if prefix == "ChargeDevice":  # the first event of the value under that key
                if event == "start_array":
                    return
                break
    raise ValueError(
        f"{snapshot.path(DOCUMENT)} has no top-level `ChargeDevice` list; the format changed or "
        "NCR_API_URL points at another service."
    )
