"""Where outputs land: the local data directory and the S3 bucket. Every write is all-or-nothing.

A local file appears complete or not at all (temporary file in the same directory, then `os.replace`);
an S3 object is one PUT carrying a SHA-256 checksum that S3 verifies. A failed run therefore leaves the
previous outputs exactly as they were.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from dagster import ConfigurableResource

TABLES_DIR = "tables"  # shared with the IO manager, so history assets can read past partitions


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target`, on error it vanishes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty staging directory; on success it takes the place of `target` (old contents go)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))
    try:
        yield staging
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class DataDir(ConfigurableResource):
    """The local data directory (`PIPELINE_DATA_DIR`): raw snapshots, tables and reports, per partition."""

    path: str = "./data"

    @property
    def root(self) -> Path:
        return Path(self.path).expanduser().resolve()

    def raw_dir(self, source: str, partition: str) -> Path:
        """The raw zone for one source and day: exactly what the upstream returned."""
        return self.root / "raw" / source / partition

    def raw_days(self, source: str, *, up_to: str) -> list[str]:
        """The days with a stored raw snapshot of `source`, oldest first, up to and including `up_to`."""
        root = self.root / "raw" / source
        days = (
            [path.name for path in root.iterdir() if not path.name.startswith(".")] if root.is_dir() else []
        )
        return sorted(day for day in days if day <= up_to)

    def table_path(self, asset: str, partition: str) -> Path:
        """Where the IO manager (`ParquetTables`) keeps one partition of a table asset."""
        return self.root / TABLES_DIR / asset / f"{partition}.parquet"

    def report_path(self, name: str, partition: str, suffix: str) -> Path:
        return self.root / "reports" / partition / f"{name}_{partition}{suffix}"


class S3Bucket(ConfigurableResource):
    """The bucket the downstream service reads (`PIPELINE_S3_BUCKET`, `PIPELINE_S3_PREFIX`).

    Credentials, region and endpoint come from the AWS default chain (environment, profile, instance
    role, `AWS_ENDPOINT_URL`); nothing about them is configured here.
    """

    bucket: str
    prefix: str = ""

    def put_file(self, key: str, path: Path, *, content_type: str) -> str:
        """Upload the file at `path` to `{prefix}{key}` in one checksummed PUT; return the `s3://` URI.

        The body is streamed from disk and its SHA-256 computed in chunks, so a large CSV never sits in
        memory; S3 rejects the PUT if what arrived does not match the checksum.
        """
        full_key = f"{self.prefix}{key}"
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        try:
            with path.open("rb") as body:
                boto3.client("s3").put_object(
                    Bucket=self.bucket,
                    Key=full_key,
                    Body=body,
                    ContentType=content_type,
                    ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
                )
        except (BotoCoreError, ClientError) as exc:
            raise RuntimeError(
                f"Uploading {path.stat().st_size} bytes to s3://{self.bucket}/{full_key} failed: {exc}. "
                "Check PIPELINE_S3_BUCKET and the AWS credentials/endpoint of the default chain, then re-run."
            ) from exc
        return f"s3://{self.bucket}/{full_key}"

    def text_lines(self, key: str) -> Iterator[str]:
        """The object at `{prefix}{key}` as UTF-8 text lines, streamed (to verify what was uploaded)."""
        full_key = f"{self.prefix}{key}"
        try:
            body = boto3.client("s3").get_object(Bucket=self.bucket, Key=full_key)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise RuntimeError(f"Reading s3://{self.bucket}/{full_key} back failed: {exc}") from exc
        for line in body.iter_lines(chunk_size=1 << 16, keepends=True):
            yield line.decode("utf-8")
