"""The registry's raw zone: the one JSON document, exactly as downloaded, read back as a stream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from pipeline.resources.json_array import Invalid, JsonArrayError, array_items
from pipeline.resources.raw_zone import RawSnapshot
from pipeline.sources.uk_registry.schema import ChargeDeviceRecord

DOCUMENT = "registry.json"
DEVICES = "ChargeDevice"

DeviceChunk = list[ChargeDeviceRecord | Invalid]


def device_chunks(stream: IO[bytes] | Any) -> Iterator[DeviceChunk]:
    """`ChargeDevice`'s records from a registry document, in order, a chunk at a time; never whole."""
    return array_items(stream, DEVICES, ChargeDeviceRecord)


def read_charge_devices(snapshot: RawSnapshot) -> Iterator[DeviceChunk]:
    """The records of a stored registry document, in chunks; an error names the file and the byte."""
    with snapshot.open(DOCUMENT) as stream:
        try:
            yield from device_chunks(stream)
        except JsonArrayError as exc:
            raise ValueError(
                f"{snapshot.path(DOCUMENT)}: {exc}. The stored document is not in the registry's "
                'format (`{"ChargeDevice": [...]}`); the format changed or NCR_API_URL points at '
                "another service."
            ) from None
