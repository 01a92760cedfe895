"""The whole graph through the upstream faults real APIs show: outputs must equal a clean run's exactly.

Every test runs twice: with the lake (PIPELINE_DATA_DIR) on local disk and on the sandbox's S3.
"""

import copy
import json
import logging
import uuid

import pytest
from dagster import DagsterInstance, serialize_value

from pipeline.definitions import build_definitions
from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.lake import read_parquet
from pipeline.resources.storage import DataDir
from pipeline.sandbox import EConnectServer, Fault, RegistryServer, make_registry, make_stations
from pipeline_tests.environments import NO_FEEDS, environment
from pipeline_tests.integration.backfill_support import workbook_values

PARTITION = today_key()
PASSWORD = "pw-7f3Qz!unique-in-this-test"
# The read timeout leaves a loaded machine seconds for a normal page, and the slow fault outlasts it
# many times over: a margin of half a second once cost CI an extra, unplanned retry.
FAST = HttpSettings(backoff_initial_s=0.01, backoff_max_s=0.05, retry_after_max_s=0.05, read_timeout_s=3)
ECONNECT_FAULTS = {
    0: [Fault("status_429", retry_after="1")],
    2: [Fault("status_503", times=2)],
    4: [Fault("truncated_body")],
    5: [Fault("slow", delay_s=30.0)],
    7: [Fault("not_json")],
    9: [Fault("content_not_list"), Fault("status_500")],
}
NCR_FAULTS = [
    Fault("status_503", retry_after="0"),
    Fault("truncated_body"),
    Fault("truncated_no_length"),  # HTTP/1.0-style framing: only parsing the body shows it is cut
    Fault("not_json"),
]


def run_graph(env, data_dir, prefix, *, raise_on_error=True):
    env = {**env, "PIPELINE_DATA_DIR": data_dir, "PIPELINE_S3_PREFIX": prefix}
    job = build_definitions(env, http=FAST).resolve_implicit_global_asset_job_def()
    instance = DagsterInstance.ephemeral()
    result = job.execute_in_process(partition_key=PARTITION, instance=instance, raise_on_error=raise_on_error)
    return result, instance


@pytest.fixture(scope="module", params=["local", "s3"])
def lake(request, sandbox, tmp_path_factory):
    """Makes a fresh lake setting per run: a local directory, or a prefix in the sandbox's bucket (the
    sandbox's S3 settings then apply to this process for the module, so tests can read the lake)."""
    run_id = uuid.uuid4().hex[:8]

    def new(name: str) -> str:
        if request.param == "local":
            return str(tmp_path_factory.mktemp(name))
        return f"s3://{sandbox.s3.bucket}/faults-{run_id}-{name}"

    with pytest.MonkeyPatch.context() as patch:
        for name, value in sandbox.s3.env().items():
            patch.setenv(name, value)
        yield new


@pytest.fixture(scope="module")
def upstreams(sandbox, lake):
    """Clean and faulty copies of both upstreams; the faulty eConnect also repeats a station across
    pages and serves a record that breaks the contract, the faulty registry one bad device."""
    stations, registry = make_stations(), make_registry()
    noisy = copy.deepcopy(stations)
    noisy.insert(300, copy.deepcopy(noisy[299]))  # last station of page 2 again first on page 3
    noisy.insert(650, {"modelInfo": "no id at all", "state": "PLANNED"})
    noisy_registry = copy.deepcopy(registry)
    noisy_registry["ChargeDevice"].insert(10, {"ChargeDeviceId": 12345, "ChargeDeviceModel": "X"})
    with (
        EConnectServer(stations, "sandbox", PASSWORD, "BP1") as clean_econnect,
        RegistryServer(registry) as clean_ncr,
        EConnectServer(noisy, "sandbox", PASSWORD, "BP1", faults=ECONNECT_FAULTS) as faulty_econnect,
        RegistryServer(noisy_registry, faults=NCR_FAULTS) as faulty_ncr,
    ):
        yield {
            "clean": (clean_econnect, clean_ncr),
            "faulty": (faulty_econnect, faulty_ncr),
            "s3": sandbox.s3,
        }


def env_for(upstreams, which, *, password=PASSWORD, partner="BP1"):
    econnect, ncr = upstreams[which]
    return {
        **upstreams["s3"].env(),
        "ECONNECT_API_URL": econnect.base_url,
        "ECONNECT_USERNAME": "sandbox",
        "ECONNECT_PASSWORD": password,
        "ECONNECT_BUSINESS_PARTNER": partner,
        "NCR_API_URL": ncr.url,
        "UK_OCPI_FEEDS": str(NO_FEEDS),  # the feeds' faults have their own tests
    }


@pytest.fixture(scope="module")
def runs(upstreams, lake):
    outputs = {}
    for which in ("clean", "faulty"):
        data_dir = lake(which)
        with environment({**env_for(upstreams, which), "PIPELINE_DATA_DIR": data_dir}):
            result, instance = run_graph(env_for(upstreams, which), data_dir, f"{which}/")
        registry_body = upstreams[which][1].body
        outputs[which] = {
            "result": result,
            "instance": instance,
            "data_dir": data_dir,
            "registry_body": registry_body,
        }
    return outputs


def test_faulty_run_produces_exactly_the_clean_outputs(runs, upstreams):
    assert runs["faulty"]["result"].success
    faulty_workbook = workbook_values(runs["faulty"]["data_dir"], PARTITION)
    assert faulty_workbook == workbook_values(runs["clean"]["data_dir"], PARTITION)
    client = upstreams["s3"].client()
    bucket = upstreams["s3"].bucket
    clean = client.get_object(Bucket=bucket, Key="clean/charger_models_UK.csv")["Body"].read()
    faulty = client.get_object(Bucket=bucket, Key="faulty/charger_models_UK.csv")["Body"].read()
    assert faulty == clean and len(clean) > 10_000


def test_faults_show_as_retries_and_rejects(runs):
    result = runs["faulty"]["result"]
    by_key = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    pages = by_key["econnect_station_pages"]
    assert pages["http_retries"].value == 8  # one per injected eConnect fault
    assert pages["http_requests"].value == pages["pages"].value + 8
    assert by_key["uk_registry_snapshot"]["http_retries"].value == 4  # one per injected registry fault
    assert by_key["econnect_stations"]["duplicate_records"].value == 1
    assert by_key["econnect_station_rejects"]["dagster/row_count"].value == 1
    assert by_key["uk_registry_device_rejects"]["dagster/row_count"].value == 1
    rejects = pd_read(runs["faulty"]["data_dir"], "econnect_station_rejects")
    assert rejects.loc[0, "location"] == "page 6, item 50"
    assert json.loads(rejects.loc[0, "record"]) == {"modelInfo": "no id at all", "state": "PLANNED"}


def pd_read(data_dir, asset):
    return read_parquet(DataDir(path=data_dir).table_path(asset, PARTITION))


def test_retries_are_in_the_run_log_without_credentials(runs):
    instance, result = runs["faulty"]["instance"], runs["faulty"]["result"]
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    retries = [m for m in messages if "; retry " in m]
    assert len(retries) == 12
    assert any(
        "page 0 of http://127.0.0.1:" in m and "HTTP 429 Too Many Requests; retry 1/5 in 0.05s" in m
        for m in retries
    )
    assert any("body broke off (ChunkedEncodingError: " in m for m in retries)
    half = len(runs["faulty"]["registry_body"]) // 2
    assert any(
        f"the body ended after {half} bytes before its JSON document was complete" in m for m in retries
    )


def test_bad_credentials_fail_fast_and_the_password_never_shows(upstreams, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    econnect, _ = upstreams["clean"]
    before = len(econnect.requests)
    env = env_for(upstreams, "clean", password=PASSWORD + "-wrong")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result, instance = run_graph(env, str(tmp_path), "bad/", raise_on_error=False)
    assert not result.success
    assert len(econnect.requests) - before == 1
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.to_string()
    assert "was refused with HTTP 401" in message and "ECONNECT_PASSWORD" in message
    everything = serialize_value(list(instance.all_logs(result.run_id))) + caplog.text
    assert PASSWORD not in everything


def test_the_password_appears_in_no_log_event_or_metadata_of_a_good_run(runs, caplog):
    for which in ("clean", "faulty"):
        instance, result = runs[which]["instance"], runs[which]["result"]
        assert PASSWORD not in serialize_value(list(instance.all_logs(result.run_id)))


def test_a_failed_run_leaves_the_previous_outputs_untouched(upstreams, runs, tmp_path_factory):
    data_dir = runs["clean"]["data_dir"]
    report = DataDir(path=data_dir).report_path("econnect_stations", PARTITION, ".xlsx")
    raw = DataDir(path=data_dir).root / "raw" / "econnect" / PARTITION

    def files():
        return sorted((str(p.relative_to(raw)), p.read_bytes()) for p in raw.rglob("*") if p.is_file())

    before = (report.read_bytes(), files())
    assert len(before[1]) == len(make_stations()) // 100 + 3  # every page and the manifest
    kept = json.loads((raw / "_snapshot.json").read_bytes())["attempt"]
    with EConnectServer(
        make_stations(), "sandbox", PASSWORD, "BP1", faults={6: [Fault("status_503", times=99)]}
    ) as down:
        env = {**env_for(upstreams, "clean"), "ECONNECT_API_URL": down.base_url}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            result, _ = run_graph(env, data_dir, "clean/", raise_on_error=False)
    assert not result.success
    assert (report.read_bytes(), files()) == before
    # the failed attempt's pages are gone; the manifest still names the complete snapshot
    assert sorted(p.name for p in raw.iterdir()) == sorted(["_snapshot.json", kept])
