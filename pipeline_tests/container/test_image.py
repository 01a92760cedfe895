"""deploy/Dockerfile, proven by running it: `make test-container` (never part of `make test`).

The image is built here (podman on a Debian base made with mmdebstrap; see podman.py for why), its code
server started with the sandbox's settings, and a `dagster` instance in this process (the throwaway
PostgreSQL as storage, deploy/dagster.yaml's own file) loads that code location over gRPC and launches a
run of the whole graph for today, which the code server executes inside the container. Its outputs (the
lake on the sandbox's S3, the CSVs) must equal those of the same graph run in-process here.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import tarfile
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._cli.job import _create_run
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from pipeline.orchestration.partitions import today_key
from pipeline.resources.http import HttpSettings
from pipeline.resources.lake import read_parquet
from pipeline.resources.storage import DataDir
from pipeline.sandbox import Sandbox
from pipeline_tests.container.podman import (
    BASE_IMAGE,
    CA_IN_BUILD,
    Podman,
    build_context,
    host_ca_bundle,
    readable_copy,
    require_podman,
    runtime_flags,
    wait_for_code_server,
)
from pipeline_tests.environments import environment
from pipeline_tests.integration.backfill_support import materialise, workbook_values
from pipeline_tests.postgres import pg_variables, postgres_url, recreate_database

pytestmark = [
    pytest.mark.container,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # Dagster's own snapshot of remote jobs
]

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
INSTANCE_CONFIG = ROOT / "deploy" / "dagster.yaml"
IMAGE = "localhost/ev-insight-pipeline:test"
CONTAINER = "ev-insight-code-test"
PORT = 4000  # the image's own command and HEALTHCHECK name this port
HOME_IN_IMAGE = "/opt/dagster/dagster_home"
FEEDS_IN_CONTAINER = "/run/ev-insight/feeds.yaml"
PARTITION = today_key()
RUN_TIMEOUT_S = 300
CA_MARKER = f"mounted for the build only {secrets.token_hex(12)}"
SECRET_NAMES = ("ECONNECT_PASSWORD", "AWS_SECRET_ACCESS_KEY", "DAGSTER_PG_PASSWORD", "JOLT_API_KEY")


@dataclass
class World:
    """What both runs used, and where each left its outputs."""

    sandbox: Sandbox
    in_process: DataDir
    in_process_csvs: str
    container: DataDir
    container_csvs: str
    run_status: DagsterRunStatus
    run_origin: object


@pytest.fixture(scope="module")
def podman() -> Podman:
    return Podman(require_podman())


@pytest.fixture(scope="module")
def test_secrets() -> dict[str, str]:
    """This test's own secret values: nothing in the repository or the package holds them."""
    return {name: f"{name.lower()}-{secrets.token_hex(12)}" for name in SECRET_NAMES}


@pytest.fixture(scope="module")
def built(podman, test_secrets, tmp_path_factory) -> str:
    """The image's name, built from the repository's files and files that must stay out of it."""
    podman.ensure_base()
    # Beside the repository's files, what a developer's checkout holds and must never reach an image.
    dotenv = "".join(f"{k}={v}\n" for k, v in test_secrets.items())
    planted = {".env": dotenv, "pipeline/.env": dotenv, "data/raw/leftover.json": json.dumps(test_secrets)}
    tmp = tmp_path_factory.mktemp("build")
    context = build_context(tmp, planted=planted)
    dockerfile = context / "deploy" / "Dockerfile"
    podman.build(context, IMAGE, dockerfile=dockerfile, ca_bundle=marked_ca_bundle(tmp))
    return IMAGE


def marked_ca_bundle(tmp: Path) -> Path | None:
    """The host's CA bundle with a line of its own at the end (text outside a certificate is ignored),
    so that a copy of what the build mounted can be told from the base's own bundle."""
    bundle = host_ca_bundle()
    if bundle is None:
        return None
    marked = tmp / "ca-bundle.crt"
    marked.write_bytes(bundle.read_bytes() + f"\n# {CA_MARKER}\n".encode())
    marked.chmod(0o644)
    return marked


@pytest.fixture(scope="module")
def inspected(podman, built) -> dict:
    return json.loads(podman.run("image", "inspect", built))[0]


def launch_in_container(home: Path) -> tuple[DagsterRunStatus, object, str]:
    """Load the code location over gRPC, create a whole-graph run for today and hand it to the
    instance's run launcher (deploy/dagster.yaml's default one starts it in the code server), as the
    daemon does for a queued run; then wait for it to end. Its status, origin and any error text."""
    workspace_file = home / "workspace.yaml"
    location = {"host": "127.0.0.1", "port": PORT, "location_name": "pipeline"}
    workspace_file.write_text(yaml.safe_dump({"load_from": [{"grpc_server": location}]}))
    with DagsterInstance.from_config(str(home)) as instance:
        with WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace_file)])) as process:
            workspace = process.create_request_context()
            code_location = workspace.get_code_location("pipeline")
            [repo] = code_location.get_repositories().values()
            run = _create_run(
                instance=instance,
                code_location=code_location,
                remote_repo=repo,
                remote_job=repo.get_full_job("__ASSET_JOB"),
                run_config={},
                tags={"dagster/partition": PARTITION},
                op_selection=None,
                run_id=None,
            )
            instance.launch_run(run.run_id, workspace)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (current := instance.get_run_by_id(run.run_id)) and not current.is_finished:
            assert time.monotonic() < deadline, f"the run in the container did not end in {RUN_TIMEOUT_S} s"
            time.sleep(1)
        assert current is not None
        errors = [
            str(e.dagster_event.event_specific_data)
            for e in instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.is_failure
        ]
        origin = current.remote_job_origin.repository_origin.code_location_origin
        return current.status, origin, "\n".join(errors)


@pytest.fixture(scope="module")
def world(podman, built, test_secrets, tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("world")
    tag = uuid.uuid4().hex[:8]
    pg = pg_variables(postgres_url(), db_name="dagster_container_test")
    recreate_database(pg)
    pg["DAGSTER_PG_PASSWORD"] = test_secrets["DAGSTER_PG_PASSWORD"]  # trust auth: sent, not checked
    with Sandbox(econnect_password=test_secrets["ECONNECT_PASSWORD"]) as sandbox:
        common = {**sandbox.env(), "AWS_SECRET_ACCESS_KEY": test_secrets["AWS_SECRET_ACCESS_KEY"]}
        common["JOLT_API_KEY"] = test_secrets["JOLT_API_KEY"]
        bucket = sandbox.s3.bucket
        inproc_lake, inproc_csvs = f"s3://{bucket}/lake-inproc-{tag}", f"csv-inproc-{tag}/"
        in_process_env = {**common, "PIPELINE_DATA_DIR": inproc_lake, "PIPELINE_S3_PREFIX": inproc_csvs}
        # The container's own HTTP settings (the defaults): retries show in the feeds' table.
        assert materialise(in_process_env, PARTITION, raise_on_error=True, http=HttpSettings()).success

        # The container's own (non-root) user reads the feed list and the instance config.
        feeds = readable_copy(common["UK_OCPI_FEEDS"], tmp / "feeds")
        instance_config = readable_copy(INSTANCE_CONFIG, tmp / "dagster_home")
        container_lake, container_csvs = f"s3://{bucket}/lake-container-{tag}", f"csv-container-{tag}/"
        env = {
            **common,
            **pg,
            "UK_OCPI_FEEDS": FEEDS_IN_CONTAINER,
            "PIPELINE_DATA_DIR": container_lake,
            "PIPELINE_S3_PREFIX": container_csvs,
        }
        podman.remove(CONTAINER)
        podman.start(
            built,
            CONTAINER,
            env=env,
            mounts=[(feeds, FEEDS_IN_CONTAINER), (instance_config, f"{HOME_IN_IMAGE}/dagster.yaml")],
        )
        try:
            wait_for_code_server(PORT)
            with environment(pg):
                status, origin, errors = launch_in_container(instance_config.parent)
            if status != DagsterRunStatus.SUCCESS:
                logs = subprocess.run(
                    [podman.executable, "logs", CONTAINER], capture_output=True, text=True, check=False
                )
                logs = logs.stdout + logs.stderr
                pytest.fail(f"the run in the container ended {status}:\n{errors}\n{logs[-6000:]}")
            with environment(common):
                yield World(
                    sandbox=sandbox,
                    in_process=DataDir(path=inproc_lake),
                    in_process_csvs=inproc_csvs,
                    container=DataDir(path=container_lake),
                    container_csvs=container_csvs,
                    run_status=status,
                    run_origin=origin,
                )
        finally:
            podman.remove(CONTAINER)


# ---- the run in the container


def test_the_whole_graph_ran_in_the_container_and_succeeded(world):
    assert world.run_status == DagsterRunStatus.SUCCESS
    assert isinstance(world.run_origin, GrpcServerCodeLocationOrigin)
    assert (world.run_origin.host, world.run_origin.port) == ("127.0.0.1", PORT)
    assert world.run_origin.location_name == "pipeline"


def test_the_workbook_has_exactly_the_in_process_values(world):
    in_container = workbook_values(world.container.path, PARTITION)
    in_process = workbook_values(world.in_process.path, PARTITION)
    assert in_container == in_process
    assert len(in_process["values"]) == len(world.sandbox.stations) + 1  # the header, then every station


def test_every_table_equals_the_in_process_one(world):
    tables = sorted(path.name for path in (world.in_process.root / "tables").iterdir())
    assert sorted(path.name for path in (world.container.root / "tables").iterdir()) == tables
    assert len(tables) >= 20
    for table in tables:
        expected = read_parquet(world.in_process.table_path(table, PARTITION))
        assert read_parquet(world.container.table_path(table, PARTITION)).equals(expected), table


def csv_objects(world: World, prefix: str) -> dict[str, bytes]:
    """Every object under `prefix`, every page of the listing (one page holds at most 1,000 keys)."""
    client, bucket = world.sandbox.s3.client(), world.sandbox.s3.bucket
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    read = {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
    return {key.removeprefix(prefix): content for key, content in read.items()}


def test_every_csv_is_the_in_process_one_byte_for_byte(world):
    in_process = csv_objects(world, world.in_process_csvs)
    assert {"charger_models_UK.csv", "charge_points_UK.csv", "charge_prices_UK.csv"} <= set(in_process)
    assert csv_objects(world, world.container_csvs) == in_process
    for name in ("charger_models_UK", "charge_points_UK", "charge_prices_UK"):
        lake_copy = world.container.report_path(name, PARTITION, ".csv").read_bytes()
        assert lake_copy == world.in_process.report_path(name, PARTITION, ".csv").read_bytes(), name


# ---- the image itself


def test_the_image_command_health_check_and_labels_are_the_documented_ones(inspected):
    config = inspected["Config"]
    assert config["Cmd"] == [
        "dagster",
        "api",
        "grpc",
        "-m",
        "pipeline.definitions",
        "-h",
        "0.0.0.0",
        "-p",
        "4000",
    ]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "dagster", "api", "grpc-health-check", "-p", "4000"]
    assert "4000/tcp" in config["ExposedPorts"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == version
    assert {"org.opencontainers.image.source", "org.opencontainers.image.licenses"} <= set(labels)
    assert config["User"] == "10001:10001"  # a number: Kubernetes runAsNonRoot can check it
    assert f"DAGSTER_HOME={HOME_IN_IMAGE}" in config["Env"]


def test_the_health_check_passes_and_the_server_is_not_root(podman, world):
    """While the code server runs the graph's location: the image's own HEALTHCHECK, and who runs it."""
    podman.run("healthcheck", "run", CONTAINER)  # exits non-zero when unhealthy
    assert podman.run("exec", CONTAINER, "id", "-u").strip() == "10001"
    processes = podman.run("top", CONTAINER, "user", "args").splitlines()[1:]
    assert processes and all(line.split()[0] == "pipeline" for line in processes), processes
    assert any("dagster api grpc -m pipeline.definitions" in line for line in processes), processes


@dataclass
class ImageScan:
    files: int
    holding_a_secret: set[str]
    paths: list[str]
    ca_mount_point: bytes | None
    holding_the_mounted_bundle: list[str]


@pytest.fixture(scope="module")
def scanned(podman, built, test_secrets) -> ImageScan:
    """Every regular file of the image's filesystem, read once (`podman export` of a container made
    from it, never started), against the test's secret values and the host's CA bundle."""
    needles = [value.encode() for value in test_secrets.values()]
    ca_marker = CA_MARKER.encode()
    scan = ImageScan(0, set(), [], None, [])
    name = f"{CONTAINER}-export"
    podman.remove(name)
    podman.run("create", "--name", name, built)
    exported = subprocess.Popen([podman.executable, "export", name], stdout=subprocess.PIPE)
    try:
        assert exported.stdout is not None
        with tarfile.open(fileobj=exported.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile() or (handle := tar.extractfile(member)) is None:
                    continue
                content = handle.read()
                scan.files += 1
                scan.paths.append(member.name)
                scan.holding_a_secret.update(member.name for needle in needles if needle in content)
                if member.name == CA_IN_BUILD.lstrip("/"):
                    scan.ca_mount_point = content
                if ca_marker in content:
                    scan.holding_the_mounted_bundle.append(member.name)
        assert exported.wait(timeout=60) == 0
    finally:
        exported.kill()  # a failure mid-stream must not leave the export blocked on a full pipe
        podman.remove(name)
    return scan


def test_no_file_config_or_history_of_the_image_holds_a_secret(
    podman, built, inspected, test_secrets, scanned
):
    assert scanned.files > 10_000  # the whole filesystem was read, not an empty stream
    assert scanned.holding_a_secret == set()
    assert [path for path in scanned.paths if path.startswith(("opt/dagster/app/", "src/", "wheels/"))] == []
    assert [path for path in scanned.paths if path.endswith(".env")] == []
    history = podman.run("history", "--no-trunc", "--format", "{{.CreatedBy}}", built)
    metadata = json.dumps(inspected) + history
    assert [name for name, value in test_secrets.items() if value in metadata] == []


def test_the_build_hosts_ca_bundle_is_not_in_the_image(scanned):
    """The bundle is mounted for the install steps; at most the empty file it was mounted on stays."""
    assert host_ca_bundle() is not None, "this machine's build mounted no CA bundle: nothing to check"
    assert scanned.ca_mount_point in (None, b"")
    assert scanned.holding_the_mounted_bundle == []


def test_the_image_holds_the_package_and_no_tests_compiler_or_pip_in_its_venv(podman, built):
    script = "ls /opt/venv/lib/python3*/site-packages /opt/pipeline; command -v gcc cc pip || true"
    listing = podman.run("run", "--rm", *runtime_flags(), "--entrypoint", "sh", built, "-c", script)
    packages = listing.split()
    assert {"pipeline", "dagster", "dagster_webserver", "dagster_postgres", "dagster_k8s"} <= set(packages)
    assert "ev_insight_pipeline-0.1.0.dist-info" in packages
    assert not [name for name in packages if name.startswith(("pipeline_tests", "moto", "pytest"))]
    assert "/gcc" not in listing and "/opt/venv/bin/pip" not in listing


def test_the_base_is_kept_for_the_next_run(podman, built):
    assert podman.image_exists(BASE_IMAGE)
