"""Where outputs land: the lake (local or S3, see `lake.py`) and the bucket the downstream service reads.

A local file appears complete or not at all (temporary file in the same directory, then `os.replace`);
an S3 object is one PUT carrying a SHA-256 checksum that S3 verifies. A failed run therefore leaves the
previous outputs exactly as they were.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from dagster import ConfigurableResource
from upath import UPath

from pipeline.resources.lake import lake_root
from pipeline.resources.raw_zone import RawZone

TABLES_DIR = "tables"  # shared with the IO manager, so history assets can read past partitions


class DataDir(ConfigurableResource):
    """The lake (`PIPELINE_DATA_DIR`, a local directory or `s3://bucket/prefix`): raw snapshots, tables
    and reports, per partition."""

    path: str = "./data"

    @property
    def root(self) -> UPath:
        return lake_root(self.path)

    def raw(self, source: str) -> RawZone:
        """The raw zone of one source: its daily snapshots, each complete or absent."""
        return RawZone(self.root / "raw" / source, source)

    def table_path(self, asset: str, partition: str) -> UPath:
        """Where the IO manager (`ParquetTables`) keeps one partition of a table asset."""
        return self.root / TABLES_DIR / asset / f"{partition}.parquet"

    def report_path(self, name: str, partition: str, suffix: str) -> UPath:
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
