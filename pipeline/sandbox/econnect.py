"""The fake eConnect Masterdata API on 127.0.0.1, and the synthetic stations it serves.

Basic-auth'd, Spring Data paged charging stations of one business partner, with the dirty values real
CPO data carries. Used by the demo, tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import math
import random
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import Message
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.sandbox import _vocab as v
from pipeline.sandbox._draw import allot, random_moment, share
from pipeline.sandbox._http import Reply, Upstream, json_reply
from pipeline.sandbox.faults import Fault, FaultQueue, cut_short, error_body, fault_reply

__all__ = ["BUSINESS_PARTNER", "PASSWORD", "USERNAME", "EConnectServer", "make_stations"]

# Sandbox-only fake credentials; printing or committing them is harmless.
USERNAME = "sandbox"
PASSWORD = "sandbox-secret"  # noqa: S105 - fake, sandbox-only
BUSINESS_PARTNER = "BP-SANDBOX"

_STATIONS_PREFIX = "/masterdata/cpos/"
_STATIONS_SUFFIX = "/chargingstations"
_DEFAULT_PAGE_SIZE = 20  # Spring Data's default when no size is given


class EConnectServer(Upstream):
    """eConnect Masterdata API: Basic-auth'd, Spring Data paged charging stations of one business partner."""

    def __init__(
        self,
        stations: list[dict],
        username: str = USERNAME,
        password: str = PASSWORD,
        business_partner: str = BUSINESS_PARTNER,
        *,
        page_size_max: int = 100,
        latency_s: float = 0.0,
        faults: Mapping[int, Sequence[Fault]] | None = None,
        drift_after_page: int | None = None,
    ) -> None:
        super().__init__(latency_s=latency_s)
        self.username = username
        self.password = password
        self.business_partner = business_partner
        self.page_size_max = page_size_max
        self.drift_after_page = drift_after_page
        self._stations = list(stations)  # our own list: drift inserts into it, never into the caller's
        self._faults = FaultQueue(faults or {})
        self._served: dict[int, bytes] = {}  # last normal body per page, for repeat_previous_page
        self._drifted = False
        self._lock = threading.Lock()

    @property
    def stations(self) -> list[dict]:
        """Snapshot of the stations currently served (includes the drift station once inserted)."""
        with self._lock:
            return list(self._stations)

    def respond(self, path: str, headers: Message) -> Reply:
        url = urlsplit(path)
        if not (url.path.startswith(_STATIONS_PREFIX) and url.path.endswith(_STATIONS_SUFFIX)):
            return json_reply(404, error_body(404, "No static resource", url.path))
        if not self._authorised(headers.get("Authorization")):
            body = error_body(401, "Full authentication is required to access this resource", url.path)
            return json_reply(401, body, headers={"WWW-Authenticate": 'Basic realm="eConnect"'})
        partner = unquote(url.path[len(_STATIONS_PREFIX) : -len(_STATIONS_SUFFIX)])
        if partner != self.business_partner:
            return json_reply(403, error_body(403, f"Access to business partner {partner} denied", url.path))
        try:
            page, size = self._paging(url.query)
        except ValueError as error:
            return json_reply(400, error_body(400, str(error), url.path))
        return self._page_reply(page, size, self._faults.take(page))

    def _authorised(self, header: str | None) -> bool:
        """HTTP Basic check with constant-time comparison, like a real gateway would do."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        return hmac.compare_digest(password.encode(), self.password.encode()) and user_ok

    def _paging(self, query: str) -> tuple[int, int]:
        """``page`` (0-based) and ``size`` (clamped to page_size_max); malformed values raise ValueError."""
        params = parse_qs(query)
        try:
            page = int(params.get("page", ["0"])[-1])
            size = int(params.get("size", [str(_DEFAULT_PAGE_SIZE)])[-1])
        except ValueError:
            raise ValueError("page and size must be integers") from None
        if page < 0 or size < 1:
            raise ValueError("page must be >= 0 and size >= 1")
        return page, min(size, self.page_size_max)

    def _page_reply(self, page: int, size: int, fault: Fault | None) -> Reply:
        """The normal page, or the page as altered by ``fault``."""
        if fault is not None:
            replaced = fault_reply(fault)
            if replaced is not None:
                return replaced
            if fault.kind == "content_not_list":
                return json_reply(200, {"content": {"oops": 1}})
            if fault.kind == "repeat_previous_page":
                with self._lock:
                    previous = self._served.get(page - 1) or self._render(max(page - 1, 0), size)
                return Reply(200, previous)
        with self._lock:
            body = self._render(page, size)
            if fault is None or not fault.kind.startswith("truncated"):
                self._served[page] = body
                self._drift_if_due(page)
        return cut_short(Reply(200, body), fault)

    def _render(self, page: int, size: int) -> bytes:
        """Spring Data ``Page`` JSON for one page of the current station list; caller holds the lock."""
        total = len(self._stations)
        total_pages = math.ceil(total / size)
        content = self._stations[page * size : (page + 1) * size]
        sort = {"empty": True, "sorted": False, "unsorted": True}
        document = {
            "content": content,
            "pageable": {
                "sort": sort,
                "offset": page * size,
                "pageNumber": page,
                "pageSize": size,
                "paged": True,
                "unpaged": False,
            },
            "last": page + 1 >= total_pages,
            "totalPages": total_pages,
            "totalElements": total,
            "size": size,
            "number": page,
            "sort": sort,
            "first": page == 0,
            "numberOfElements": len(content),
            "empty": not content,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _drift_if_due(self, page: int) -> None:
        """Once page ``drift_after_page`` is out, insert a new station at the front, shifting every page."""
        if self._drifted or page != self.drift_after_page:
            return
        self._drifted = True
        station = copy.deepcopy(make_stations(1, seed=2024)[0])
        station["id"] = "DE*EBS*N000001"  # the N series never occurs in make_stations (E series)
        station["name"] = f"Neu: {station['name']}"
        for number, evse in enumerate(station.get("evses", []), start=1):
            evse["evseId"] = f"{station['id']}*{number}"
        self._stations.insert(0, station)


_INSTALL_START = datetime(2017, 1, 1)
_INSTALL_END = datetime(2025, 12, 31, 23, 59, 59)


def make_stations(count: int = 1234, *, seed: int = 7) -> list[dict]:
    """eConnect Masterdata station records, including the dirty values real CPO data carries.

    Ids are unique. Formula-like model names occur once per 300 stations (4 in the default data, none
    below 151 stations), so small test sets stay clean unless they ask for size.
    """
    rng = random.Random(seed)
    numbers = rng.sample(range(1, max(1_000_000, 2 * count)), count)
    specials = {
        "modelInfo": allot(
            rng,
            count,
            {
                "none": share(count, 0.03),
                "missing": share(count, 0.01),
                "empty": share(count, 0.01),
                **{f"formula{i}": 1 for i in range(round(count / 300))},
            },
        ),
        "type": allot(rng, count, {"none": share(count, 0.02)}),
        "state": allot(rng, count, {"none": share(count, 0.02), "missing": share(count, 0.01)}),
        "installDate": allot(
            rng,
            count,
            {"none": share(count, 0.02), **{f"garbage{i}": 1 for i in range(share(count, 0.01))}},
        ),
    }
    stations = []
    for index, number in enumerate(numbers):
        station = _station(rng, f"DE*EBS*E{number:06d}")
        _dirty_station(station, {field: chosen.get(index) for field, chosen in specials.items()})
        stations.append(station)
    return stations


def _station(rng: random.Random, station_id: str) -> dict:
    """One clean station; dirty values are applied afterwards by ``_dirty_station``."""
    model, current, _weight = rng.choices(v.ECONNECT_MODELS, weights=[m[2] for m in v.ECONNECT_MODELS])[0]
    city, lat, lon, zip_prefix = rng.choice(v.GERMAN_CITIES)
    street = rng.choice(v.GERMAN_STREETS)
    evse_count = rng.randint(1, 4) if current == "DC" else rng.randint(1, 2)
    power = rng.choice((50.0, 150.0, 300.0)) if current == "DC" else rng.choice((11.0, 22.0))
    return {
        "id": station_id,
        "name": f"{rng.choice(v.SITE_KINDS)} {city} {street}",
        "modelInfo": model,
        "installDate": _install_date(rng),
        "type": current,
        "state": rng.choices([s[0] for s in v.STATES], weights=[s[1] for s in v.STATES])[0],
        "address": {
            "street": f"{street} {rng.randint(1, 180)}",
            "city": city,
            "zip": f"{zip_prefix}{rng.randint(100, 999)}",
            "country": "DE",
        },
        "evses": [
            {
                "evseId": f"{station_id}*{k}",
                "maxPowerKw": power,
                "connectorType": "CCS2" if current == "DC" else "TYPE_2",
            }
            for k in range(1, evse_count + 1)
        ],
        "latitude": round(lat + rng.uniform(-0.08, 0.08), 6),
        "longitude": round(lon + rng.uniform(-0.12, 0.12), 6),
        "operatorId": "DE*EBS",
    }


def _dirty_station(station: dict, cases: dict[str, str | None]) -> None:
    """Overwrite the chosen fields with None / empty / missing / formula / garbage values."""
    for field, case in cases.items():
        if case is None:
            continue
        if case == "missing":
            del station[field]
        elif case == "none":
            station[field] = None
        elif case == "empty":
            station[field] = ""
        elif case.startswith("formula"):
            station[field] = v.FORMULA_NAMES[int(case.removeprefix("formula")) % len(v.FORMULA_NAMES)]
        elif case.startswith("garbage"):
            station[field] = v.GARBAGE_DATES[int(case.removeprefix("garbage")) % len(v.GARBAGE_DATES)]


def _install_date(rng: random.Random) -> str:
    """An ISO 8601 timestamp in one of the forms real CPO back ends emit (date only, Z, offsets...)."""
    moment = random_moment(rng, _INSTALL_START, _INSTALL_END)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    form = rng.randrange(6)
    if form == 0:
        return moment.date().isoformat()
    if form == 1:
        return f"{base}Z"
    if form == 2:
        return f"{base}{rng.choice(v.UTC_OFFSETS)}"
    if form == 3:
        return f"{base}.{rng.randrange(1000):03d}Z"
    if form == 4:
        return f"{base}.{rng.randrange(1_000_000):06d}{rng.choice(v.UTC_OFFSETS)}"
    return base
