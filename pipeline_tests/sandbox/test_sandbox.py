"""The fake upstreams and local S3 behave like the real services on the wire."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import requests

from pipeline.sandbox import Sandbox
from pipeline.sandbox.s3 import LocalS3
from pipeline.sandbox.uk_registry import NCR_PATH, RegistryServer

REPO = Path(__file__).resolve().parents[2]


def test_pages_of_100_cover_every_station_once(start_econnect, get_page, stations):
    server = start_econnect()
    ids: list[str] = []
    for page in range(13):
        body = get_page(server, page).json()
        assert body["number"] == body["pageable"]["pageNumber"] == page
        assert body["size"] == body["pageable"]["pageSize"] == 100
        assert body["totalElements"] == 1234
        assert body["totalPages"] == 13
        assert body["first"] is (page == 0)
        assert body["last"] is (page == 12)
        assert body["numberOfElements"] == len(body["content"]) == (34 if page == 12 else 100)
        ids += [station["id"] for station in body["content"]]
    assert ids == [station["id"] for station in stations]
    assert len(set(ids)) == 1234


def test_page_after_the_last_is_empty(start_econnect, get_page):
    response = get_page(start_econnect(), 13)
    assert response.status_code == 200
    body = response.json()
    assert body["content"] == []
    assert body["empty"] is True
    assert body["last"] is True
    assert body["numberOfElements"] == 0
    assert body["totalElements"] == 1234


def test_size_is_clamped_and_response_is_json_with_length(start_econnect, get_page):
    response = get_page(start_econnect(page_size_max=100), 0, size=1000)
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.json()["size"] == 100
    assert len(response.json()["content"]) == 100


@pytest.mark.parametrize("auth", [("sandbox", "wrong"), ("someone", "sandbox-secret"), None])
def test_bad_or_missing_credentials_get_401(start_econnect, get_page, auth):
    server = start_econnect()
    response = get_page(server, 0, auth=auth)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert server.requests[-1][1] == 401


def test_unknown_business_partner_gets_403(start_econnect):
    server = start_econnect()
    url = f"{server.base_url}/masterdata/cpos/BP-OTHER/chargingstations?page=0&size=10"
    response = requests.get(url, auth=("sandbox", "sandbox-secret"), timeout=5)
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


def test_unknown_path_and_malformed_paging(start_econnect, get_page):
    server = start_econnect()
    assert requests.get(f"{server.base_url}/nope", timeout=5).status_code == 404
    assert get_page(server, "x").status_code == 400
    assert get_page(server, -1).status_code == 400


def test_request_log_records_path_and_status(start_econnect, get_page):
    server = start_econnect()
    get_page(server, 2, size=5)
    get_page(server, 0, auth=None)
    assert server.requests == [
        ("/masterdata/cpos/BP-SANDBOX/chargingstations?page=2&size=5", 200),
        ("/masterdata/cpos/BP-SANDBOX/chargingstations?page=0&size=100", 401),
    ]


def test_concurrent_requests_are_all_served(start_econnect, get_page):
    server = start_econnect(latency_s=0.05)
    with ThreadPoolExecutor(max_workers=13) as pool:
        bodies = list(pool.map(lambda page: get_page(server, page).json(), range(13)))
    assert sum(len(body["content"]) for body in bodies) == 1234
    assert len(server.requests) == 13


def test_drift_repeats_exactly_one_station_on_the_next_page(start_econnect, get_page, stations):
    server = start_econnect(drift_after_page=3)
    pages = [get_page(server, page).json() for page in range(14)]
    ids = [station["id"] for body in pages for station in body["content"]]
    page3 = [station["id"] for station in pages[3]["content"]]
    page4 = [station["id"] for station in pages[4]["content"]]
    assert set(page3) & set(page4) == {page3[-1]} == {page4[0]}
    assert len(ids) == 1235
    assert len(set(ids)) == 1234  # the new station sits on page 0, already fetched: it is missed
    assert pages[4]["totalElements"] == 1235
    assert len(stations) == 1234  # the caller's list is never mutated


def test_ncr_serves_the_document(registry):
    with RegistryServer(registry) as server:
        assert server.url == f"{server.base_url}{NCR_PATH}"
        response = requests.get(server.url, timeout=10)
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == len(response.content)
        assert json.loads(response.content) == registry
        assert requests.get(f"{server.base_url}/api/other", timeout=5).status_code == 404
        assert server.requests == [(NCR_PATH, 200), ("/api/other", 404)]


def test_ncr_serves_bytes_as_given():
    document = b'{"Scheme": {}, "ChargeDevice": []}'
    with RegistryServer(document) as server:
        assert requests.get(server.url, timeout=5).content == document


def test_stopped_server_refuses_connections(start_econnect):
    server = start_econnect()
    base_url = server.base_url
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url, timeout=2)


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


def test_sandbox_env_reaches_every_service():
    with Sandbox(stations=30, devices=20) as sandbox:
        env = sandbox.env()
        assert set(env) == {
            "ECONNECT_API_URL",
            "ECONNECT_USERNAME",
            "ECONNECT_PASSWORD",
            "ECONNECT_BUSINESS_PARTNER",
            "NCR_API_URL",
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "PIPELINE_S3_BUCKET",
        }
        url = f"{env['ECONNECT_API_URL']}/masterdata/cpos/{env['ECONNECT_BUSINESS_PARTNER']}/chargingstations"
        auth = (env["ECONNECT_USERNAME"], env["ECONNECT_PASSWORD"])
        assert requests.get(url, auth=auth, timeout=5).json()["totalElements"] == 30
        assert requests.get(env["NCR_API_URL"], timeout=5).json() == sandbox.registry
        s3 = sandbox.s3.client()
        s3.put_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt", Body=b"probe")
        assert s3.get_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt")["Body"].read()
        s3.delete_object(Bucket=env["PIPELINE_S3_BUCKET"], Key="sandbox-test/probe.txt")


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


def test_cli_prints_exports_and_stops_on_sigterm():
    command = [sys.executable, "-m", "pipeline.sandbox", "serve", "--stations", "5", "--devices", "5"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(10)]
        try:
            exports = dict(line.removeprefix("export ").strip().split("=", 1) for line in lines)
            assert requests.get(exports["NCR_API_URL"], timeout=5).status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            rest, errors = process.communicate(timeout=30)
        assert process.returncode == 0, (lines, rest, errors)
        assert "sandbox stopped" in errors
