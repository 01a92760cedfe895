"""deploy/docker-compose.yaml as Compose reads it: the four services, their commands, the instance config and
workspace they mount, their health checks and start order, and where every setting and secret comes from.
(Which settings it names at all, against the code: test_settings.py.) Nothing here starts a container."""

import json
import re
import tomllib
from typing import Any

import pytest
import yaml

from pipeline_tests.deploy.settings import (
    AWS_CHAIN,
    COMPOSE,
    DOCKERFILE,
    ENV_EXAMPLE,
    INSTANCE,
    PG_PASSWORD,
    PYPROJECT,
    REPO,
    compose_names,
    dockerfile_instructions,
    env_file_values,
    instance_env,
    secrets_never_with_a_value,
)

PROJECT = COMPOSE.parent  # Compose resolves relative paths against the first compose file's folder
DAGSTER = ("code", "webserver", "daemon")
WORKSPACE = "/opt/dagster/workspace.yaml"
# Read-only, relabelled for SELinux (`z`, shared by the three containers; ignored without SELinux).
INSTANCE_MOUNT = "./dagster.yaml:/opt/dagster/dagster_home/dagster.yaml:ro,z"
_VALUE = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:[-?])(?P<rest>.*))?\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


def _interpolation(value: str) -> tuple[str, str, str]:
    """(variable, operator, default or message) of a value that is one `${...}`."""
    match = _VALUE.match(value)
    assert match, f"{value!r} is not one ${{NAME...}} interpolation"
    return match["name"], match["op"] or "", match["rest"] or ""


def test_four_services_one_image_built_from_the_repository_root(services):
    assert sorted(services) == ["code", "daemon", "postgres", "webserver"]
    for name in DAGSTER:
        assert services[name]["image"] == "localhost/ev-insight-pipeline:latest"
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert services[name]["restart"] == "unless-stopped"
    build = services["code"]["build"]
    context = (PROJECT / build["context"]).resolve()
    assert context == REPO
    assert context / build["dockerfile"] == DOCKERFILE and DOCKERFILE.is_file()
    assert services["postgres"]["image"] == "docker.io/library/postgres:17"


def test_the_code_server_runs_the_image_command_and_the_others_dagster_s(services):
    assert "command" not in services["code"]
    assert json.loads(dockerfile_instructions("CMD")[-1]) == [
        *("dagster", "api", "grpc", "-m", "pipeline.definitions", "-h", "0.0.0.0", "-p", "4000")
    ]
    assert services["webserver"]["command"] == [
        *("dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", WORKSPACE)
    ]
    assert services["daemon"]["command"] == ["dagster-daemon", "run", "-w", WORKSPACE]
    assert services["webserver"]["ports"] == ["127.0.0.1:3000:3000"]
    assert [name for name, service in services.items() if "ports" in service] == ["webserver"]


def test_every_dagster_service_mounts_the_instance_config_read_only(services):
    source, _, _ = INSTANCE_MOUNT.split(":")
    assert (PROJECT / source).resolve() == INSTANCE
    environment = " ".join(dockerfile_instructions("ENV"))
    assert re.findall(r"\bDAGSTER_HOME=(\S+)", environment) == ["/opt/dagster/dagster_home"]
    workspace = f"./workspace.compose.yaml:{WORKSPACE}:ro,z"
    # Step logs: written by runs in `code`, shown by the webserver, in a folder the image makes its user's.
    logs = "logs:/opt/dagster/dagster_home/storage"
    assert any("mkdir -p /opt/dagster/dagster_home/storage " in run for run in dockerfile_instructions("RUN"))
    assert services["webserver"]["volumes"] == [INSTANCE_MOUNT, workspace, logs]
    assert services["daemon"]["volumes"] == [INSTANCE_MOUNT, workspace]
    workdir = dockerfile_instructions("WORKDIR")[-1]  # the runtime stage's
    assert services["code"]["volumes"] == [INSTANCE_MOUNT, logs, f"lake:{workdir}"]
    assert services["postgres"]["volumes"] == ["postgres:/var/lib/postgresql/data"]


def test_the_workspace_loads_the_code_service_by_its_host_port_and_location_name(compose, services):
    workspace = yaml.safe_load((PROJECT / "workspace.compose.yaml").read_text())
    pyproject = tomllib.loads(PYPROJECT.read_text())
    assert workspace == {
        "load_from": [{"grpc_server": {"host": "code", "port": 4000, "location_name": "pipeline"}}]
    }
    assert workspace["load_from"][0]["grpc_server"]["host"] in services
    assert pyproject["tool"]["dagster"]["code_location_name"] == "pipeline"
    assert services["code"]["healthcheck"]["test"] == [
        "CMD",
        "dagster",
        "api",
        "grpc-health-check",
        "-p",
        "4000",
    ]
    assert compose["volumes"] == {"postgres": None, "lake": None, "logs": None}


def test_each_service_checks_its_own_health(services):
    # The image's HEALTHCHECK asks the gRPC port, which only `code` serves: the others declare theirs.
    assert services["postgres"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        'pg_isready -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}"',
    ]
    webserver = services["webserver"]["healthcheck"]["test"]
    assert webserver[:3] == ["CMD", "python", "-c"] and "http://127.0.0.1:3000/server_info" in webserver[3]
    assert services["daemon"]["healthcheck"]["test"] == ["CMD", "dagster-daemon", "liveness-check"]


def test_services_start_once_what_they_need_is_healthy(services):
    healthy = {"condition": "service_healthy"}
    assert services["code"]["depends_on"] == {"postgres": healthy}
    assert services["webserver"]["depends_on"] == {"postgres": healthy, "code": healthy}
    assert services["daemon"]["depends_on"] == {"postgres": healthy, "code": healthy}
    assert "depends_on" not in services["postgres"]


def test_runs_get_every_setting_each_from_its_own_variable(services):
    environment = services["code"]["environment"]
    passed_through = sorted(name for name, value in environment.items() if value is None)
    # The AWS chain only when set: boto3 takes an empty AWS_REGION or AWS_PROFILE for a value and fails.
    assert passed_through == sorted(AWS_CHAIN - {"AWS_PROFILE"})
    interpolated = {name: value for name, value in environment.items() if value is not None}
    # Everything the file interpolates reaches the code service, where runs execute.
    assert set(interpolated) == compose_names(COMPOSE)
    assert {name: _interpolation(value)[0] for name, value in interpolated.items()} == {
        name: name for name in interpolated
    }


def test_the_instance_settings_are_the_same_in_every_dagster_service(services):
    # What deploy/dagster.yaml reads through `env:` keys.
    instance = {name: services["code"]["environment"][name] for name, _, _ in instance_env(INSTANCE)}
    assert services["webserver"]["environment"] == services["daemon"]["environment"] == instance
    assert {name: _interpolation(value)[1:] for name, value in instance.items()} == {
        "DAGSTER_PG_HOST": (":-", "postgres"),
        "DAGSTER_PG_PORT": (":-", "5432"),
        "DAGSTER_PG_USER": (":-", "dagster"),
        "DAGSTER_PG_DB": (":-", "dagster"),
        PG_PASSWORD: (":?", "set DAGSTER_PG_PASSWORD in .env, see .env.example"),
    }
    assert services["postgres"]["environment"] == {
        "POSTGRES_USER": instance["DAGSTER_PG_USER"],
        "POSTGRES_PASSWORD": instance[PG_PASSWORD],
        "POSTGRES_DB": instance["DAGSTER_PG_DB"],
    }


def test_no_secret_has_a_value_in_the_file(services):
    secrets = secrets_never_with_a_value()
    for service, definition in services.items():
        for name, value in definition["environment"].items():
            if value is None:
                continue  # passed through from .env or the shell, or unset
            variable, op, rest = _interpolation(value)
            given = f"{service}: {name}: {value}"
            # A secret comes from a secret's variable (postgres' POSTGRES_PASSWORD from DAGSTER_PG_PASSWORD),
            # and a secret's variable has no default wherever it is interpolated.
            assert name not in secrets or variable in secrets, given
            assert variable not in secrets or (op, rest) == (":-", "") or op == ":?", given
    assert COMPOSE.read_text().count("${DAGSTER_PG_PASSWORD") == 2  # the Dagster services' and postgres'
    assert COMPOSE.read_text().count("${DAGSTER_PG_PASSWORD:?") == 2


def test_each_default_is_the_value_env_example_gives(services):
    # The AWS chain has no default: it is passed only when set (test_runs_get_every_setting_...).
    example = {name: value for name, value in env_file_values(ENV_EXAMPLE).items() if name not in AWS_CHAIN}
    defaults = {}
    for value in services["code"]["environment"].values():
        if value is not None:
            variable, op, rest = _interpolation(value)
            defaults[variable] = rest if op == ":-" else ""
    assert {name: defaults.get(name) for name in example} == example
