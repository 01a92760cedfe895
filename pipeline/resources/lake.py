"""The lake: `PIPELINE_DATA_DIR` as a local directory or an `s3://bucket/prefix`, through one layer.

Everything the pipeline keeps between runs (raw snapshots, tables, reports) goes through these few
functions on `UPath`s (universal-pathlib over fsspec; s3fs for S3, with the AWS default credential
chain and `AWS_ENDPOINT_URL`), so a source never asks where the lake is. The guarantees are the same
on both:

- a file or object appears whole or not at all: locally a temporary file renamed into place; on S3 one
  PUT, or a multipart upload that S3 assembles only when it completes;
- what cannot be honoured fails loudly: any other scheme is refused, naming the setting.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dagster import MetadataValue
from upath import UPath

from pipeline.resources.files import atomic_path, write_bytes_atomic

SETTING = "PIPELINE_DATA_DIR"
LOCAL_PROTOCOLS = ("", "file", "local")


class LakeSettingError(ValueError):
    """`PIPELINE_DATA_DIR` names a place the pipeline cannot write to as promised."""


def lake_root(setting: str) -> UPath:
    """The lake's root for a `PIPELINE_DATA_DIR` value: a local path (made absolute) or `s3://b/prefix`."""
    text = setting.strip() or "./data"
    if "://" not in text:
        if text.startswith("s3:"):
            raise LakeSettingError(f"{SETTING}={text!r} is not a URL; write s3://BUCKET/PREFIX.")
        return UPath(Path(text).expanduser().resolve())
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("s3", "s3a", "file"):
        raise LakeSettingError(
            f"{SETTING}={text!r}: the lake can be a local directory or s3://BUCKET/PREFIX, not {scheme}://."
        )
    if scheme.lower() == "file":
        return UPath(Path(rest).expanduser().resolve())
    bucket = rest.split("/", 1)[0]
    if not bucket:
        raise LakeSettingError(f"{SETTING}={text!r} names no bucket; write s3://BUCKET/PREFIX.")
    # Listings are never cached: another run (another process, another machine) may have written since.
    # The endpoint is part of the options, so fsspec's per-options instance cache never hands out a
    # file system bound to another endpoint (tests start several S3 servers in one process).
    options: dict[str, Any] = {"use_listings_cache": False}
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint:
        options["endpoint_url"] = endpoint
    return UPath(f"s3://{rest.rstrip('/')}", **options)


def is_local(path: UPath | Path) -> bool:
    """A plain `Path`, or a `UPath` on the local file system."""
    return getattr(path, "protocol", "") in LOCAL_PROTOCOLS


def local_path(path: UPath | Path) -> Path:
    return Path(path.path) if isinstance(path, UPath) else path


def put_bytes(path: UPath, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (a rename locally, one PUT on S3)."""
    if is_local(path):
        write_bytes_atomic(local_path(path), data)
    else:
        path.fs.pipe_file(path.path, data)


@contextmanager
def writing(path: UPath) -> Iterator[Path]:
    """Yield a local file to write; on success it becomes `path` whole, on error nothing changes.

    On S3 the file is uploaded with one PUT, or a multipart upload S3 completes only at its end, so a
    reader never sees half a report.
    """
    if is_local(path):
        with atomic_path(local_path(path)) as tmp:
            yield tmp
        return
    fd, name = tempfile.mkstemp(prefix=".lake.", suffix=f"-{path.name}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        path.fs.put_file(str(tmp), path.path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_tree(path: UPath) -> None:
    """Delete a folder and everything in it; nothing to do when it is not there."""
    if is_local(path):
        shutil.rmtree(local_path(path), ignore_errors=True)
    elif path.fs.exists(path.path):
        path.fs.rm(path.path, recursive=True)


def uri(path: UPath) -> str:
    """Where a person finds it: a local path, or `s3://bucket/key`."""
    return str(local_path(path)) if is_local(path) else f"s3://{path.path}"


def location(path: UPath) -> MetadataValue:
    """Asset metadata pointing at `path`: a path locally, a URL on S3."""
    return MetadataValue.path(uri(path)) if is_local(path) else MetadataValue.url(uri(path))


def arrow_source(path: UPath) -> tuple[str, Any]:
    """`(path, filesystem)` for pyarrow and pandas readers: a plain local path, or the S3 key with s3fs."""
    return (str(local_path(path)), None) if is_local(path) else (path.path, path.fs)


def read_parquet(path: UPath, **kwargs: Any) -> pd.DataFrame:
    source, filesystem = arrow_source(path)
    return pd.read_parquet(source, filesystem=filesystem, **kwargs)


def parquet_file(path: UPath) -> pq.ParquetFile:
    source, filesystem = arrow_source(path)
    return pq.ParquetFile(source, filesystem=filesystem)


def read_table(path: UPath, **kwargs: Any) -> pa.Table:
    source, filesystem = arrow_source(path)
    return pq.read_table(source, filesystem=filesystem, **kwargs)
