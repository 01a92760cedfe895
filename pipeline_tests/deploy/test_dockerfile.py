"""deploy/Dockerfile read as text, in `make test`: what the issue fixes about it, checked on every change
without building it (`make test-container` builds and runs it)."""

import re
import tomllib

from pipeline_tests.deploy.settings import DOCKERIGNORE, PYPROJECT
from pipeline_tests.deploy.settings import dockerfile_instructions as instructions


def test_the_build_arguments_are_exactly_base_image_and_pip_cert():
    names = {re.split(r"[= ]", argument)[0] for argument in instructions("ARG")}
    assert names == {"BASE_IMAGE", "PIP_CERT"}
    assert instructions("ARG") == ["BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm", 'PIP_CERT=""']


def test_the_version_label_is_the_packages_version():
    version = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    [labels] = instructions("LABEL")
    assert f'org.opencontainers.image.version="{version}"' in labels
    for key in ("source", "licenses", "title", "description"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_the_runtime_stage_runs_as_a_numbered_user_the_code_server_and_its_health_check():
    assert instructions("USER") == ["10001:10001"]
    assert instructions("CMD")[-1] == (
        '["dagster", "api", "grpc", "-m", "pipeline.definitions", "-h", "0.0.0.0", "-p", "4000"]'
    )
    [healthcheck] = instructions("HEALTHCHECK")
    assert healthcheck.endswith('CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]')
    stages = [argument.split() for argument in instructions("FROM")]
    assert stages[-1] == ["${BASE_IMAGE}", "AS", "runtime"]


def test_the_ca_bundle_is_only_ever_named_by_its_build_argument():
    """PIP_CERT is a path pip reads while the bundle is mounted; no COPY or ENV may carry it on."""
    assert not [line for line in instructions("COPY") if "crt" in line or "PIP_CERT" in line]
    assert not [line for line in instructions("ENV") if "PIP_CERT" in line]


def test_the_build_context_is_only_the_package_and_never_a_dotenv():
    rules = [line for line in DOCKERIGNORE.read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then only what the image is built from back in
    assert [rule for rule in rules if rule.startswith("!")] == [
        "!pyproject.toml",
        "!constraints.txt",
        "!README.md",
        "!pipeline/",
    ]
    assert rules[-2:] == ["**/.env", "**/*.env"]  # last: they win over `!pipeline/`
