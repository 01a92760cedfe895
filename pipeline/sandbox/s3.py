"""A local S3 endpoint (moto's threaded server) with one empty bucket, for demos and integration tests.

A real HTTP endpoint rather than in-process mocking, so the pipeline talks to it through its ordinary
boto3 configuration (``AWS_ENDPOINT_URL``) exactly as it would to AWS.

Moto keeps its state per process, not per server: LocalS3 instances alive at once in one process share
buckets (and ``moto.mock_aws`` in the same process resets that state). So a LocalS3 only deletes a bucket
it created itself: a test starting a second sandbox next to a session-wide one joins the existing bucket,
never wipes it. A bucket created here starts empty and is deleted (with its objects) on exit.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Self

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from moto.server import ThreadedMotoServer

from pipeline.sandbox._service import Service

__all__ = ["LocalS3"]

_ACCESS_KEY = "testing"  # moto accepts any credentials; these are the conventional fake ones


class LocalS3(Service):
    """Context manager: moto S3 on 127.0.0.1 with ``bucket`` created in ``region``."""

    def __init__(self, bucket: str = "ev-insight-sandbox", *, region: str = "eu-west-2") -> None:
        self.bucket = bucket
        self.region = region
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url: str | None = None
        self._owns_bucket = False

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("LocalS3 is not running; use it as a context manager")
        return self._endpoint_url

    def env(self) -> dict[str, str]:
        """Environment a boto3 client (or the pipeline) needs to reach this bucket."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": _ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": _ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "PIPELINE_S3_BUCKET": self.bucket,
        }

    def client(self) -> Any:
        """A boto3 S3 client bound to this endpoint, independent of the process environment."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=_ACCESS_KEY,
            aws_secret_access_key=_ACCESS_KEY,
        )

    def start(self) -> Self:
        """Start moto on port 0 (the OS picks a free port; we read it back) and create the bucket."""
        if self._server is not None:
            return self
        _quiet_werkzeug()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._server = server
        host, port = server.get_host_and_port()
        self._endpoint_url = f"http://{host}:{port}"
        try:
            self._owns_bucket = self._create_bucket()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Delete the bucket if we created it (frees moto's memory), stop the server, release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._owns_bucket:
            self._owns_bucket = False
            with contextlib.suppress(BotoCoreError, ClientError):  # best effort: the server goes anyway
                self._delete_bucket()
        server.stop()
        # ThreadedMotoServer.stop() shuts the WSGI server down but does not close its listening socket.
        wsgi_server = getattr(server, "_server", None)
        if wsgi_server is not None:
            wsgi_server.server_close()
        self._endpoint_url = None

    def _create_bucket(self) -> bool:
        """Create the bucket; False if another LocalS3 in this process already has it (we then share it)."""
        s3 = self.client()
        config = {} if self.region == "us-east-1" else {"LocationConstraint": self.region}
        try:
            s3.create_bucket(Bucket=self.bucket, **({"CreateBucketConfiguration": config} if config else {}))
        except s3.exceptions.BucketAlreadyOwnedByYou:
            return False
        return True

    def _delete_bucket(self) -> None:
        """Remove every object, then the bucket."""
        s3 = self.client()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=self.bucket)


def _quiet_werkzeug() -> None:
    """Stop moto's werkzeug server logging every request to stderr, unless someone configured that logger.

    Werkzeug only installs its own INFO level and handler when the logger is still at NOTSET.
    """
    logger = logging.getLogger("werkzeug")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
