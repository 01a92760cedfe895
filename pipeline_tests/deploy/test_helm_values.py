"""deploy/helm/values.yaml, the values for Dagster's chart dagster/dagster 1.13.27, checked without a cluster
and without the chart: every key is one the chart defines, the code location runs the image's command,
plain settings are values and secrets only in the Secret (that together they are exactly what the code
reads: test_settings.py), the run pods get what the code server gets, and the limits are those of
deploy/dagster.yaml.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
import yaml

from pipeline_tests.deploy.settings import (
    ENV_EXAMPLE,
    HELM_SECRETS,
    HELM_VALUES,
    INSTANCE,
    PG_PASSWORD,
    PYPROJECT,
    dockerfile_instructions,
    env_file_values,
    plain_names,
    secret_names,
    secrets_never_with_a_value,
    user_deployment,
)

SECRET = "ev-insight-pipeline-secrets"

# The keys of the chart's values that the file may use, as chart 1.13.27 defines them: the pydantic models
# its values.schema.json is generated from (dagster-io/dagster, helm/dagster/schema/schema/charts/:
# dagster/values.py, dagster/subschema/{global_,service_account,run_launcher,concurrency,daemon,postgresql,
# telemetry}.py, dagster_user_deployments/subschema/user_deployments.py, utils/kubernetes.py), and, for
# the free-form `runMonitoring`, the keys templates/configmap-instance.yaml reads. ANY: a value the chart
# passes on as Kubernetes or Dagster config. A one-element list: every item has that shape.
ANY = "any"


def _keys(names: str) -> dict[str, Any]:
    """`names` (space-separated), each taking ANY value."""
    return dict.fromkeys(names.split(), ANY)


_IMAGE = {"repository": ANY, "tag": ANY, "pullPolicy": ANY}
_DEPLOYMENT = _keys(
    "name dagsterApiGrpcArgs codeServerArgs deploymentNamespace port replicaCount "
    "envConfigMaps annotations nodeSelector affinity tolerations podSecurityContext "
    "securityContext resources livenessProbe readinessProbe startupProbe labels volumeMounts "
    "volumes schedulerName initContainers sidecarContainers deploymentStrategy"
) | {
    "image": _IMAGE,
    "includeConfigInLaunchedRuns": {"enabled": ANY},
    "env": [{"name": ANY, "value": ANY, "valueFrom": ANY}],
    "envSecrets": [{"name": ANY, "optional": ANY}],
}
_K8S_RUN_LAUNCHER = _keys(
    "image imagePullPolicy jobNamespace loadInclusterConfig kubeconfigFile envConfigMaps "
    "envVars volumeMounts volumes labels failPodOnRunFailure resources schedulerName "
    "securityContext runK8sConfig"
) | {"envSecrets": [{"name": ANY, "optional": ANY}]}
_DAEMON = _keys(
    "enabled image heartbeatTolerance env envConfigMaps envSecrets deploymentLabels labels "
    "nodeSelector affinity tolerations podSecurityContext securityContext resources "
    "checkDbReadyInitContainer livenessProbe readinessProbe startupProbe annotations "
    "runRetries sensors schedules backfills schedulerName logFormat volumeMounts volumes "
    "initContainerResources extraContainers"
) | {
    "runCoordinator": {"enabled": ANY, "type": ANY, "config": ANY},
    "runMonitoring": _keys(
        "enabled startTimeoutSeconds cancelTimeoutSeconds maxRuntimeSeconds maxResumeRunAttempts "
        "pollIntervalSeconds freeSlotsAfterRunEndSeconds"
    ),
}
CHART_KEYS: dict[str, Any] = {
    "global": _keys(
        "postgresqlSecretName dagsterHome serviceAccountName celeryConfigSecretName dagsterInstanceConfigMap"
    ),
    "serviceAccount": {"create": ANY, "name": ANY, "annotations": ANY},
    "dagster-user-deployments": {
        "enabled": ANY,
        "enableSubchart": ANY,
        "imagePullSecrets": ANY,
        "deployments": [_DEPLOYMENT],
    },
    "runLauncher": {
        "type": ANY,
        "config": {
            "k8sRunLauncher": _K8S_RUN_LAUNCHER,
            "celeryK8sRunLauncher": ANY,
            "customRunLauncher": ANY,
        },
    },
    "concurrency": {
        "enabled": ANY,
        "pools": {"defaultLimit": ANY, "granularity": ANY, "opGranularityRunBuffer": ANY},
        "runs": {"maxConcurrentRuns": ANY, "tagConcurrencyLimits": ANY},
    },
    "dagsterDaemon": _DAEMON,
    "postgresql": _keys(
        "image enabled postgresqlHost postgresqlUsername postgresqlPassword postgresqlDatabase "
        "postgresqlParams postgresqlScheme pool"
    )
    | {"service": {"port": ANY}},
    "generatePostgresqlPasswordSecret": ANY,
    "telemetry": {"enabled": ANY},
}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def deployment(values: dict[str, Any]) -> dict[str, Any]:
    return user_deployment(values)


def unknown_keys(node: Any, allowed: Any, path: str = "") -> list[str]:
    """The paths in `node` that `allowed` (CHART_KEYS' shape) does not define."""
    if allowed == ANY:
        return []
    if isinstance(allowed, list):
        return [key for i, item in enumerate(node) for key in unknown_keys(item, allowed[0], f"{path}[{i}]")]
    return [
        unknown
        for key, value in node.items()
        for unknown in (
            [f"{path}.{key}"] if key not in allowed else unknown_keys(value, allowed[key], f"{path}.{key}")
        )
    ]


def _camel(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.title() for word in rest)


def _camel_keys(node: dict[str, Any]) -> dict[str, Any]:
    return {
        _camel(key): _camel_keys(value) if isinstance(value, dict) else value for key, value in node.items()
    }


def test_every_key_is_one_the_chart_defines(values: dict[str, Any]) -> None:
    assert unknown_keys(values, CHART_KEYS) == []
    # ...and the checker does catch a misspelt key.
    assert unknown_keys({"dagsterDaemon": {"runMonitoring": {"startTimeout": 1}}}, CHART_KEYS) == [
        ".dagsterDaemon.runMonitoring.startTimeout"
    ]


def test_the_code_location_runs_the_image_and_its_command(deployment: dict[str, Any]) -> None:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert deployment["name"] == project["tool"]["dagster"]["code_location_name"] == "pipeline"
    assert deployment["image"] == {
        "repository": "registry.example.com/ev-insight-pipeline",
        "tag": project["project"]["version"],
        "pullPolicy": "IfNotPresent",
    }
    # The chart's container args (charts/dagster-user-deployments/templates/deployment-user.yaml) against
    # the image's default command: the same program, module, host and port.
    port = str(deployment["port"])
    chart_args = ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", port, *deployment["dagsterApiGrpcArgs"]]
    assert chart_args == [
        "dagster",
        "api",
        "grpc",
        "-h",
        "0.0.0.0",
        "-p",
        "4000",
        "-m",
        "pipeline.definitions",
    ]
    (cmd,) = dockerfile_instructions("CMD")
    image_args = json.loads(cmd)
    assert image_args[:3] == chart_args[:3]
    assert dict(zip(image_args[3::2], image_args[4::2], strict=True)) == dict(
        zip(chart_args[3::2], chart_args[4::2], strict=True)
    )


def test_env_gives_plain_settings_once_each_as_a_string(deployment: dict[str, Any]) -> None:
    names = [entry["name"] for entry in deployment["env"]]
    assert len(names) == len(set(names)), "a variable is set twice"
    # The instance's DAGSTER_PG_* come from the chart's `postgresql:` block and its password Secret.
    misplaced = {name for name in names if name not in plain_names() or name.startswith("DAGSTER_PG_")}
    assert misplaced == set(), "deploy/helm/values.yaml's env holds secrets or the chart's own settings"
    assert all(
        set(entry) == {"name", "value"} and isinstance(entry["value"], str) for entry in deployment["env"]
    )


def test_no_secret_is_in_the_values(deployment: dict[str, Any]) -> None:
    assert {entry["name"] for entry in deployment["env"]} & secrets_never_with_a_value() == set()
    assert deployment["envSecrets"] == [{"name": SECRET}]


def test_the_secret_file_names_only_secrets_and_holds_no_value() -> None:
    secrets = env_file_values(HELM_SECRETS)
    assert set(secrets) <= secret_names() - {PG_PASSWORD}  # the password has the chart's own Secret
    assert secrets == dict.fromkeys(secrets, "")
    assert f"create secret generic {SECRET} --from-env-file=" in HELM_SECRETS.read_text(encoding="utf-8")


def test_include_config_in_launched_runs_is_on_and_the_k8s_launcher_has_no_config_of_its_own(
    values: dict[str, Any], deployment: dict[str, Any]
) -> None:
    # With includeConfigInLaunchedRuns the chart hands the deployment's env, envSecrets and service
    # account to each run as its container context; dagster_k8s merges the launcher's own lists first and
    # the location's last, so a launcher env would only be a second list the location silently overrides.
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert values["runLauncher"] == {"type": "K8sRunLauncher"}


def test_plain_values_are_the_documented_defaults(deployment: dict[str, Any]) -> None:
    env = {entry["name"]: entry["value"] for entry in deployment["env"]}
    assert env["PIPELINE_DATA_DIR"] == "s3://BUCKET/PREFIX"  # every run is its own pod: the lake is on S3
    documented = env_file_values(ENV_EXAMPLE)
    differing = {
        name: (value, documented[name])
        for name, value in env.items()
        if name in documented and name != "PIPELINE_DATA_DIR" and value != documented[name]
    }
    assert differing == {}, "values.yaml and .env.example give different defaults (values.yaml, .env.example)"


def test_limits_and_monitoring_are_those_of_the_instance_config(values: dict[str, Any]) -> None:
    instance = yaml.safe_load(INSTANCE.read_text(encoding="utf-8"))
    assert instance["run_coordinator"]["class"] == values["dagsterDaemon"]["runCoordinator"]["type"]
    assert values["dagsterDaemon"]["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator"}
    # The chart fails on a run limit in both places, and writes `concurrency:` only when enabled.
    assert "config" not in values["dagsterDaemon"]["runCoordinator"]
    assert values["concurrency"] == {"enabled": True, **_camel_keys(instance["concurrency"])}
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == 4
    assert values["concurrency"]["pools"] == {"defaultLimit": 1, "granularity": "op"}
    assert values["dagsterDaemon"]["runMonitoring"] == _camel_keys(instance["run_monitoring"])
    assert values["telemetry"] == instance["telemetry"] == {"enabled": False}


def test_dagster_keeps_its_state_in_the_external_database(values: dict[str, Any]) -> None:
    instance = yaml.safe_load(INSTANCE.read_text(encoding="utf-8"))
    assert values["postgresql"] == {
        "enabled": False,
        "postgresqlHost": "postgres.example.com",
        "postgresqlUsername": "dagster",
        "postgresqlDatabase": "dagster",
        "postgresqlPassword": "",
        "postgresqlScheme": instance["storage"]["postgres"]["postgres_db"]["scheme"],
        "service": {"port": 5432},
    }
    assert values["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert values["global"]["postgresqlSecretName"] == "ev-insight-pipeline-postgresql"
    assert values["generatePostgresqlPasswordSecret"] is False


def test_one_service_account_with_the_iam_role_for_every_pod(values: dict[str, Any]) -> None:
    # global.serviceAccountName is the account of the webserver, the daemon, the run pods (chart) and the
    # code server (subchart); the chart creates it with the annotation.
    assert values["global"]["serviceAccountName"] == values["serviceAccount"]["name"] == "ev-insight-pipeline"
    assert values["serviceAccount"] == {
        "create": True,
        "name": "ev-insight-pipeline",
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::ACCOUNT_ID:role/ev-insight-pipeline"},
    }
