"""The local S3 behaves like the real service for boto3, configured by its environment alone."""

from __future__ import annotations

import boto3

from pipeline.sandbox.s3 import LocalS3


def test_local_s3_round_trips_with_its_env(monkeypatch):
    with LocalS3(bucket="roundtrip-bucket") as s3:
        env = s3.env()
        assert env["PIPELINE_S3_BUCKET"] == "roundtrip-bucket"
        assert env["AWS_DEFAULT_REGION"] == "eu-west-2"
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        client = boto3.client("s3")  # configured by the environment alone
        client.put_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="a/b.csv", Body=b"x,y\n1,2\n")
        body = client.get_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="a/b.csv")["Body"].read()
        assert body == b"x,y\n1,2\n"
        location = client.get_bucket_location(Bucket="roundtrip-bucket")["LocationConstraint"]
        assert location == "eu-west-2"


def test_a_second_local_s3_shares_but_never_deletes_the_bucket():
    # Moto's state is per process: a test-local sandbox must not wipe a session-wide one's bucket.
    def read(local: LocalS3) -> bytes:
        return local.client().get_object(Bucket="shared-bucket", Key="keep.txt")["Body"].read()

    with LocalS3(bucket="shared-bucket") as first:
        first.client().put_object(Bucket="shared-bucket", Key="keep.txt", Body=b"keep")
        with LocalS3(bucket="shared-bucket") as second:
            assert read(second) == b"keep"
        assert read(first) == b"keep"
    with LocalS3(bucket="shared-bucket") as again:  # the owner deleted it on exit: a fresh, empty bucket
        assert again.client().list_objects_v2(Bucket="shared-bucket")["KeyCount"] == 0
