"""The SEED way: the hand-run scripts this project replaces, re-implemented faithfully as the baseline.

Deliberately naive, because that is what is being replaced: a sequential ``requests`` loop (a new
connection per page, every body parsed whole with ``response.json()``), pandas for the counting, and
``pd.ExcelWriter(engine="openpyxl")`` / ``to_csv`` for the output. Nothing here is shared with
``pipeline``, so speeding up the pipeline cannot speed up its baseline.

Run as its own process by ``run.py`` so its peak memory is its own:
``python -m pipeline_tests.benchmarks.seed_way econnect OUT.xlsx`` (reads the ``ECONNECT_*`` variables)
or ``python -m pipeline_tests.benchmarks.seed_way registry OUT.csv`` (reads ``NCR_API_URL``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
import requests

FIELDS = ["modelInfo", "installDate", "type", "state"]
GROUP_KEYS = ["ChargeDeviceManufacturer", "LocationType", "ChargeDeviceModel", "PostCode", "MonthUpdated"]
MAX_PAGES = 100_000  # the seed looped "until empty"; bounded here so a broken server cannot hang the bench
TIMEOUT_S = 600


def fetch_stations(base: str, partner: str, auth: tuple[str, str]) -> pd.DataFrame:
    """Page 0, 1, ... until an empty ``content``; the four report fields of every station."""
    url = f"{base}/masterdata/cpos/{partner}/chargingstations"
    rows: list[dict[str, object]] = []
    for page in range(MAX_PAGES):
        response = requests.get(url, params={"page": page, "size": 100}, auth=auth, timeout=TIMEOUT_S)
        response.raise_for_status()
        content = response.json()["content"]
        if not content:
            break
        rows.extend({field: station.get(field) for field in FIELDS} for station in content)
    return pd.DataFrame(rows, columns=FIELDS)


def write_workbook(stations: pd.DataFrame, path: Path) -> None:
    """The seed's sheets: the values, one ``value_counts()`` per field and the model × state pivot."""
    pivot = pd.pivot_table(
        stations, index="modelInfo", columns="state", values="installDate", aggfunc="count"
    )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        stations.to_excel(writer, sheet_name="values", index=False)
        for field in FIELDS:
            stations[field].value_counts().to_excel(writer, sheet_name=f"{field}_count")
        pivot.to_excel(writer, sheet_name="Status Pivot")


def econnect(path: Path) -> None:
    stations = fetch_stations(
        os.environ["ECONNECT_API_URL"],
        os.environ["ECONNECT_BUSINESS_PARTNER"],
        (os.environ["ECONNECT_USERNAME"], os.environ["ECONNECT_PASSWORD"]),
    )
    write_workbook(stations, path)
    print(f"seed econnect: {len(stations)} stations -> {path}")


def registry(path: Path) -> None:
    """Whole document in memory, flattened with ``json_normalize``, grouped by the five keys."""
    document = requests.get(os.environ["NCR_API_URL"], timeout=TIMEOUT_S).json()
    devices = pd.json_normalize(document["ChargeDevice"]).dropna(subset=["ChargeDeviceModel"])
    compact = (
        devices["ChargeDeviceLocation.Address.PostCode"]
        .fillna("")
        .str.strip()
        .str.upper()
        .str.replace(" ", "")
    )
    devices = devices.assign(
        PostCode=compact.str[:-3] + " " + compact.str[-3:],
        MonthUpdated=devices["DateUpdated"].str[:7],
    )
    counts = devices.groupby(GROUP_KEYS).size().reset_index(name="Count")
    counts.to_csv(path, index=False)
    print(f"seed registry: {len(devices)} devices, {len(counts)} rows -> {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", choices=["econnect", "registry"])
    parser.add_argument("out", type=Path, help="where to write the workbook or the CSV")
    args = parser.parse_args(argv)
    (econnect if args.source == "econnect" else registry)(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
