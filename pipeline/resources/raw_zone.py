"""The raw zone's contract, the same for every source: a day's snapshot is stored complete or not at all.

One snapshot is what one source's upstream returned on one day, file by file, exactly as received:

    {PIPELINE_DATA_DIR}/raw/{source}/{day}/_snapshot.json     the manifest, written last
    {PIPELINE_DATA_DIR}/raw/{source}/{day}/{attempt}/{file}   the files it lists

A writer puts its files under a fresh attempt folder and writes the manifest only once every file is in;
the manifest names the attempt and each file with its size. Readers see a day only through its
manifest, so a run that dies half-way (or a body that was cut short) leaves at most an attempt folder
nobody reads, and the day's previous complete snapshot stays exactly as it was until the new manifest
replaces it. Replacing needs no directory rename, which object stores do not have.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import IO

from pipeline.resources.files import write_bytes_atomic

MANIFEST = "_snapshot.json"


class SnapshotMissing(FileNotFoundError):
    """No complete snapshot of that source and day is stored."""


@dataclass(frozen=True)
class RawSnapshot:
    """One source's stored snapshot of one day: exactly the files its manifest lists."""

    source: str
    day: str
    folder: Path

    @property
    def complete(self) -> bool:
        return (self.folder / MANIFEST).is_file()

    @cached_property
    def manifest(self) -> dict:
        try:
            return json.loads((self.folder / MANIFEST).read_bytes())
        except FileNotFoundError:
            raise SnapshotMissing(
                f"No complete raw {self.source} snapshot is stored for {self.day} (no {MANIFEST} in "
                f"{self.folder}). Materialise the source's raw asset for this partition first."
            ) from None

    @property
    def names(self) -> list[str]:
        """The files of the snapshot, in name order."""
        return sorted(self.manifest["files"])

    @property
    def size(self) -> int:
        """Bytes in all the snapshot's files."""
        return sum(self.manifest["files"].values())

    def path(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise SnapshotMissing(f"The {self.source} snapshot of {self.day} holds no file {name!r}.")
        return self.folder / self.manifest["attempt"] / name

    def read_bytes(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        with self.path(name).open("rb") as stream:
            yield stream


class SnapshotWriter:
    """Collects one attempt's files; `RawZone.writing` commits them with the manifest, or drops them."""

    def __init__(self, folder: Path) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.attempt = f"{stamp}-{uuid.uuid4().hex[:8]}"
        self.folder = folder / self.attempt
        self.folder.mkdir(parents=True, exist_ok=False)

    def path(self, name: str) -> Path:
        """Where to stream file `name` to (for bodies too large to hold in memory)."""
        _check_name(name)
        return self.folder / name

    def write_bytes(self, name: str, data: bytes) -> None:
        self.path(name).write_bytes(data)

    def files(self) -> dict[str, int]:
        return {path.name: path.stat().st_size for path in sorted(self.folder.iterdir()) if path.is_file()}


class RawZone:
    """The raw snapshots of one source, one folder per day."""

    def __init__(self, root: Path, source: str) -> None:
        self.source = source
        self.root = root

    def snapshot(self, day: str) -> RawSnapshot:
        _check_name(day)
        return RawSnapshot(self.source, day, self.root / day)

    def days(self, *, up_to: str) -> list[str]:
        """The days with a complete snapshot, oldest first, up to and including `up_to`."""
        if not self.root.is_dir():
            return []
        days = (path.name for path in self.root.iterdir() if (path / MANIFEST).is_file())
        return sorted(day for day in days if day <= up_to)

    @contextmanager
    def writing(self, day: str) -> Iterator[SnapshotWriter]:
        """Yield a writer for `day`; on success its files become the day's snapshot, on error they go."""
        _check_name(day)
        folder = self.root / day
        writer = SnapshotWriter(folder)
        try:
            yield writer
        except BaseException:
            shutil.rmtree(writer.folder, ignore_errors=True)
            raise
        manifest = {
            "source": self.source,
            "day": day,
            "attempt": writer.attempt,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": writer.files(),
        }
        write_bytes_atomic(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
        for stale in folder.iterdir():  # earlier attempts, complete or not: nothing names them now
            if stale.is_dir() and stale.name != writer.attempt:
                shutil.rmtree(stale, ignore_errors=True)


def _check_name(name: str) -> None:
    if not name or "/" in name or name.startswith(".") or name == MANIFEST:
        raise ValueError(f"{name!r} is not a valid raw file name")
