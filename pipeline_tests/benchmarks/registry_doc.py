"""Registry documents of benchmark size, serialised once to the bytes ``RegistryServer`` serves.

``make_registry`` draws every device from a seeded generator at roughly 10 s per 100,000 devices, and
holds them all as Python objects. A million would cost minutes and gigabytes before anything is
measured, so larger documents repeat the 100,000-device base with new, unique ``ChargeDeviceId``s: the
same bytes per device, the same mix of dirty values and duplicates, and exactly ``devices`` records.
"""

from __future__ import annotations

import hashlib
import json

from pipeline.sandbox import make_registry

BASE_DEVICES = 100_000


def registry_bytes(devices: int) -> bytes:
    """A registry document with ``devices`` devices, serialised like ``RegistryServer.publish`` does."""
    if devices <= BASE_DEVICES:
        return json.dumps(make_registry(devices)).encode("utf-8")
    base = make_registry(BASE_DEVICES)
    items = [(device.get("ChargeDeviceId"), json.dumps(device)) for device in base["ChargeDevice"]]
    base["ChargeDevice"] = []
    head, tail = json.dumps(base).encode("utf-8").split(b"[]", 1)
    copies = [
        ", ".join(
            _with_new_id(text, device_id, copy)
            for device_id, text in items[: min(BASE_DEVICES, devices - copy * BASE_DEVICES)]
        ).encode("utf-8")
        for copy in range(-(-devices // BASE_DEVICES))
    ]
    return head + b"[" + b", ".join(copies) + b"]" + tail


def _with_new_id(text: str, device_id: object, copy: int) -> str:
    """The device's JSON with an id unique to this copy; copy 0 and devices without a string id unchanged.

    The new id is derived from the old one, so an exact duplicate in the base stays a duplicate of its
    own original in every copy (the registry repeats devices; the pipeline must count each id once).
    """
    if copy == 0 or not isinstance(device_id, str):
        return text
    new_id = hashlib.md5(f"{copy}:{device_id}".encode(), usedforsecurity=False).hexdigest()
    return text.replace(f'"ChargeDeviceId": "{device_id}"', f'"ChargeDeviceId": "{new_id}"', 1)
