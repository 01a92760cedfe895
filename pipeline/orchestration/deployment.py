"""What depends on the deployment, applied to every asset: who owns it, where its data lives, which days
are its partitions.

- **Owner**: `PIPELINE_OWNER`, an e-mail address or `team:NAME` (default `team:ev-data`).
- **Kinds**: `s3` joins every asset the lake holds when `PIPELINE_DATA_DIR` is an S3 URL.
- **Partitions**: a day is a partition from the deployment's first snapshot on, so "missing" means a day a
  snapshot should have been taken and was not. `PIPELINE_FIRST_SNAPSHOT_DAY` sets that day; by default it
  is the earliest day stored in the lake's raw zone, or today in a lake that holds none yet. A lake that
  cannot be listed (S3 unreachable, no credentials) does not stop the code location from loading: the
  partitions then start at UNLISTED_FIRST_DAY, before any stored day, so every process still accepts
  every stored day, and a warning says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from dagster import AssetsDefinition, AssetSpec, DailyPartitionsDefinition, map_asset_specs
from upath import UPath

from pipeline.orchestration.partitions import snapshot_partitions, today_key

OWNER = "PIPELINE_OWNER"
FIRST_DAY = "PIPELINE_FIRST_SNAPSHOT_DAY"
DEFAULT_OWNER = "team:ev-data"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_IN_LAKE = {"parquet", "json", "excel", "csv"}  # kinds of data the lake holds (the CSV keeps a copy)
UNLISTED_FIRST_DAY = "2000-01-01"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    owner: str
    first_day: str
    lake_on_s3: bool

    @classmethod
    def from_env(cls, environ: Mapping[str, str], lake: UPath, *, today: str | None = None) -> Deployment:
        owner = environ.get(OWNER, "").strip() or DEFAULT_OWNER
        if not (_EMAIL.match(owner) or (owner.startswith("team:") and len(owner) > len("team:"))):
            raise ValueError(
                f"{OWNER}={owner!r}: write an e-mail address or team:NAME (e.g. {DEFAULT_OWNER})."
            )
        return cls(
            owner=owner,
            first_day=first_snapshot_day(
                environ.get(FIRST_DAY, ""), lake / "raw", today=today or today_key()
            ),
            lake_on_s3=lake.protocol in ("s3", "s3a"),
        )

    @property
    def partitions(self) -> DailyPartitionsDefinition:
        return snapshot_partitions(self.first_day)

    def apply(self, assets: Sequence[AssetsDefinition]) -> list[AssetsDefinition]:
        partitions = self.partitions

        def deployed(spec: AssetSpec) -> AssetSpec:
            kinds = set(spec.kinds)
            if self.lake_on_s3 and kinds & _IN_LAKE:
                kinds.add("s3")
            return spec.replace_attributes(
                owners=[self.owner],
                kinds=kinds,
                partitions_def=partitions if spec.partitions_def is not None else None,
            )

        return list(map_asset_specs(deployed, assets))


def first_snapshot_day(setting: str, raw_root: UPath, *, today: str) -> str:
    """`setting` when given (YYYY-MM-DD, not after today); else the earliest stored day, else today."""
    text = setting.strip()
    if text:
        try:
            day = date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{FIRST_DAY}={text!r} is not a day; write YYYY-MM-DD.") from None
        if day > today:
            raise ValueError(f"{FIRST_DAY}={day} is after today ({today} UTC).")
        return day
    try:
        stored = stored_days(raw_root)
    except Exception as exc:  # any failure to list must not stop the code location loading
        log.warning(
            "Could not list %s to find the first snapshot day (%s: %s); partitions start at %s. Set %s "
            "to skip the listing.", raw_root, type(exc).__name__, exc, UNLISTED_FIRST_DAY, FIRST_DAY
        )  # fmt: skip
        return UNLISTED_FIRST_DAY
    return min((day for day in stored if day <= today), default=today)


def stored_days(raw_root: UPath) -> set[str]:
    """The day folders of every raw zone (`raw/SOURCE/DAY` or, for a source of feeds, one level deeper).

    Names only, two directory listings deep: cheap on S3 too, whatever the number of files a day holds.
    """
    days: set[str] = set()
    for zone in _folders(raw_root):
        for entry in _folders(zone):
            if _DAY.match(entry.name):
                days.add(entry.name)
            else:
                days.update(day.name for day in _folders(entry) if _DAY.match(day.name))
    return days


def _folders(path: UPath) -> Iterable[UPath]:
    if not path.exists():
        return []
    return [entry for entry in path.iterdir() if entry.is_dir()]
