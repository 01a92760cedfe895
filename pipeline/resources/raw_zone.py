"""The raw zone's contract, the same for every source: a day's snapshot is stored complete or not at all.

One snapshot is what one source's upstream returned on one day, file by file, exactly as received:

    {PIPELINE_DATA_DIR}/raw/{source}/{day}/_snapshot.json     the manifest, written last
    {PIPELINE_DATA_DIR}/raw/{source}/{day}/{attempt}/{file}   the files it lists

A writer puts its files under a fresh attempt folder and writes the manifest only once every file is in;
the manifest names the attempt and each file with its size. Readers see a day only through its
manifest, so a run that dies half-way (or a body that was cut short) leaves at most an attempt folder
nobody reads, and the day's previous complete snapshot stays exactly as it was until the new manifest
replaces it. Replacing needs no directory rename, which object stores do not have, so the same code
holds on local disk and on S3; there, files are written `concurrency` at a time as they arrive.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import IO

from upath import UPath

from pipeline.resources.lake import is_local, local_path, put_bytes, remove_tree

MANIFEST = "_snapshot.json"


class SnapshotMissing(FileNotFoundError):
    """No complete snapshot of that source and day is stored."""


@dataclass(frozen=True)
class RawSnapshot:
    """One source's stored snapshot of one day: exactly the files its manifest lists."""

    source: str
    day: str
    folder: UPath

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
    def notes(self) -> dict:
        """What the writer noted about the fetch (empty for snapshots written without notes)."""
        return dict(self.manifest.get("notes") or {})

    @property
    def size(self) -> int:
        """Bytes in all the snapshot's files."""
        return sum(self.manifest["files"].values())

    def path(self, name: str) -> UPath:
        if name not in self.manifest["files"]:
            raise SnapshotMissing(f"The {self.source} snapshot of {self.day} holds no file {name!r}.")
        return self.folder / self.manifest["attempt"] / name

    def read_bytes(self, name: str) -> bytes:
        return self.path(name).read_bytes()

    def read_many(self, names: list[str], *, ahead: int = 16) -> Iterator[tuple[str, bytes]]:
        """`(name, bytes)` in the order given. On an object store up to `ahead` files are fetched at
        once (thousands of pages must not be thousands of sequential round trips); no more than that
        is held in memory."""
        if is_local(self.folder):
            for name in names:
                yield name, self.read_bytes(name)
            return
        with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="raw-get") as pool:
            window: deque[tuple[str, Future[bytes]]] = deque()
            for name in names:
                window.append((name, pool.submit(self.read_bytes, name)))
                if len(window) >= ahead:
                    done, future = window.popleft()
                    yield done, future.result()
            while window:
                done, future = window.popleft()
                yield done, future.result()

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        with self.path(name).open("rb") as stream:
            yield stream


class SnapshotWriter:
    """Collects one attempt's files; `RawZone.writing` commits them with the manifest, or drops them.

    On an object store each `write_bytes` is one PUT started on a pool of `concurrency` threads, so a
    snapshot of thousands of pages is not thousands of sequential round trips; `files()` waits for all.
    """

    def __init__(self, folder: UPath, *, concurrency: int = 1) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.attempt = f"{stamp}-{uuid.uuid4().hex[:8]}"
        self.folder = folder / self.attempt
        self._sizes: dict[str, int] = {}
        self.notes: dict[
            str, object
        ] = {}  # what the fetch learnt (e.g. its wire style), kept in the manifest
        self._pending: list[Future[None]] = []
        self._pool = None
        self._local = is_local(folder)
        if self._local:
            self.folder.mkdir(parents=True, exist_ok=False)
        elif concurrency > 1:
            self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="raw-put")

    def path(self, name: str) -> UPath:
        """Where to stream file `name` to (for bodies too large to hold in memory)."""
        _check_name(name)
        self._sizes.setdefault(name, -1)  # measured when the snapshot is committed
        return self.folder / name

    def write_bytes(self, name: str, data: bytes) -> None:
        target = self.path(name)
        self._sizes[name] = len(data)
        if self._local:
            local_path(target).write_bytes(data)  # no rename needed: nobody reads an attempt's files
        elif self._pool is None:
            put_bytes(target, data)
        else:
            self._pending.append(self._pool.submit(put_bytes, target, data))

    def files(self) -> dict[str, int]:
        """Every file written, with its size, once every write has finished (or the first error)."""
        self.close()
        for future in self._pending:
            future.result()
        return {
            name: size if size >= 0 else (self.folder / name).stat().st_size
            for name, size in sorted(self._sizes.items())
        }

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class RawZone:
    """The raw snapshots of one source, one folder per day."""

    def __init__(self, root: UPath, source: str) -> None:
        self.source = source
        self.root = root

    def snapshot(self, day: str) -> RawSnapshot:
        _check_name(day)
        return RawSnapshot(self.source, day, self.root / day)

    def days(self, *, up_to: str) -> list[str]:
        """The days with a complete snapshot, oldest first, up to and including `up_to`."""
        if not self.root.exists():
            return []
        days = (path.name for path in self.root.iterdir() if (path / MANIFEST).exists())
        return sorted(day for day in days if day <= up_to)

    def latest_before(self, day: str) -> str | None:
        """The latest day before `day` with a complete snapshot, or None: one listing, then a manifest
        check per day from the newest down, stopping at the first complete one (on S3 every check is a
        request, and `days` checks them all)."""
        if not self.root.exists():
            return None
        earlier = sorted((path.name for path in self.root.iterdir() if path.name < day), reverse=True)
        return next((name for name in earlier if (self.root / name / MANIFEST).exists()), None)

    @contextmanager
    def writing(self, day: str, *, concurrency: int = 1) -> Iterator[SnapshotWriter]:
        """Yield a writer for `day`; on success its files become the day's snapshot, on error they go.

        `concurrency`: files written at once on an object store; pass the fetch's own concurrency.
        """
        _check_name(day)
        folder = self.root / day
        writer = SnapshotWriter(folder, concurrency=concurrency)
        try:
            yield writer
            files = writer.files()
        except BaseException:
            writer.close()
            remove_tree(writer.folder)
            raise
        manifest = {
            "source": self.source,
            "day": day,
            "attempt": writer.attempt,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": files,
            "notes": writer.notes,
        }
        put_bytes(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
        for stale in folder.iterdir():  # earlier attempts, complete or not: nothing names them now
            if stale.name not in (MANIFEST, writer.attempt):
                remove_tree(stale)


def _check_name(name: str) -> None:
    if not name or "/" in name or name.startswith(".") or name == MANIFEST:
        raise ValueError(f"{name!r} is not a valid raw file name")
