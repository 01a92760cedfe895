"""The fake registry-format server on 127.0.0.1 (the UK National Chargepoint Registry's JSON export),
and the synthetic devices it serves. Used by the demo, tests and benchmarks; never by production code.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Sequence
from email.message import Message
from email.utils import formatdate
from urllib.parse import urlsplit

from pipeline.sandbox._http import Reply, Upstream, json_reply
from pipeline.sandbox._registry import add_duplicates, build_device, postcode_pool, registry_specials
from pipeline.sandbox.faults import Fault, FaultQueue, cut_short, error_body, fault_reply

__all__ = ["NCR_PATH", "RegistryServer", "make_registry"]

NCR_PATH = "/api/retrieve/registry/format/json"


class RegistryServer(Upstream):
    """UK National Chargepoint Registry: the whole registry as one JSON document at a fixed path."""

    def __init__(
        self,
        document: dict | bytes,
        *,
        latency_s: float = 0.0,
        faults: Sequence[Fault] | None = None,
    ) -> None:
        super().__init__(latency_s=latency_s)
        unsupported = [fault.kind for fault in faults or () if fault.kind == "repeat_previous_page"]
        if unsupported:
            raise ValueError("RegistryServer serves a single document; 'repeat_previous_page' does not apply")
        self._faults = FaultQueue({None: list(faults or ())})
        self.publish(document)

    def publish(self, document: dict | bytes) -> None:
        """Serve `document` from now on, with a new ETag and Last-Modified (the registry was updated)."""
        # Serialised once: a registry of many MB must not be re-encoded or copied per request.
        self.body = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
        self.etag = f'"{hashlib.sha256(self.body).hexdigest()[:20]}"'
        self.last_modified = formatdate(time.time(), usegmt=True)

    @property
    def url(self) -> str:
        """Full URL of the registry download."""
        return f"{self.base_url}{NCR_PATH}"

    def respond(self, path: str, headers: Message) -> Reply:
        if urlsplit(path).path != NCR_PATH:
            return json_reply(404, error_body(404, "Not Found", urlsplit(path).path))
        fault = self._faults.take(None)
        if fault is not None:
            replaced = fault_reply(fault)
            if replaced is not None:
                return replaced
            if fault.kind == "content_not_list":
                return json_reply(200, {"Scheme": {"SchemeCode": "OCPI"}, "ChargeDevice": {"oops": 1}})
        if headers.get("If-None-Match") == self.etag:
            return Reply(304, b"", headers={"ETag": self.etag})
        validators = {"ETag": self.etag, "Last-Modified": self.last_modified}
        return cut_short(Reply(200, self.body, headers=validators), fault)


def make_registry(count: int = 2345, *, seed: int = 11) -> dict:
    """A UK National Chargepoint Registry document with ``count`` devices, a few exact duplicates among them.

    About one device in 470 is an exact copy of an earlier one placed later in the list (5 in the default
    data, none below 235 devices), as the real export occasionally repeats a device; the list length is
    exactly ``count``.
    """
    rng = random.Random(seed)
    duplicates = round(count / 470)
    unique = count - duplicates
    specials = registry_specials(rng, unique)
    pool = postcode_pool(rng)
    seen_ids: set[str] = set()
    devices = []
    for index in range(unique):
        cases = {field: chosen.get(index) for field, chosen in specials.items()}
        devices.append(build_device(rng, pool, cases, seen_ids))
    add_duplicates(rng, devices, duplicates)
    return {
        "Scheme": {
            "SchemeCode": "OCPI",
            "SchemeData": {
                "OrganisationName": "Office for Zero Emission Vehicles",
                "Website": "https://ncr.example.gov.uk",
                "TelephoneNo": "0300 330 3000",
            },
        },
        "ChargeDevice": devices,
    }
