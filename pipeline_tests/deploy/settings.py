"""Every environment variable the code reads, found in the code itself (scan.py), and the names each
deployment file gives: the one list of settings that `.env.example`, the compose file and the Helm values
must name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline_tests.deploy.scan import scan

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "pipeline"
# The deployment files the tests hold against the code and against each other.
INSTANCE = REPO / "deploy" / "dagster.yaml"
COMPOSE = REPO / "deploy" / "docker-compose.yaml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ENV_EXAMPLE = REPO / ".env.example"
HELM_VALUES = REPO / "deploy" / "helm" / "values.yaml"
HELM_SECRETS = REPO / "deploy" / "helm" / "secrets.env.example"
PYPROJECT = REPO / "pyproject.toml"
PG_PASSWORD = "DAGSTER_PG_PASSWORD"

# Read by boto3's default chain, not by our code: a deployment may name them (credentials where there is
# no instance role), none has to (on EKS, IRSA provides them).
AWS_CHAIN = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
    }
)
AWS_CHAIN_SECRET = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


@dataclass(frozen=True)
class Setting:
    """A variable the code reads: whether it is a secret, and where the scan found it."""

    name: str
    secret: bool
    found: tuple[str, ...]


def code_settings() -> dict[str, Setting]:
    """Every variable the code reads, by name, in name order (computed once per test session)."""
    return dict(_code_settings())


def secret_names() -> frozenset[str]:
    return frozenset(name for name, setting in code_settings().items() if setting.secret)


def plain_names() -> frozenset[str]:
    return frozenset(name for name, setting in code_settings().items() if not setting.secret)


def user_deployment(values: dict[str, Any]) -> dict[str, Any]:
    """The Helm values' one code location (`dagster-user-deployments.deployments`)."""
    (only,) = values["dagster-user-deployments"]["deployments"]
    return only


def secrets_never_with_a_value() -> frozenset[str]:
    """What no deployment file may give a value, only name: the code's secrets and the AWS chain's
    credentials."""
    return secret_names() | AWS_CHAIN_SECRET


@cache
def _code_settings() -> tuple[tuple[str, Setting], ...]:
    found: dict[str, list[str]] = {}
    secret: set[str] = set()
    for read in scan(sorted(PACKAGE.rglob("*.py")), root=REPO):
        if read.where not in found.setdefault(read.name, []):
            found[read.name].append(read.where)
        if read.secret:
            secret.add(read.name)
    for name, where, is_secret in [*_source_settings(), *_feed_secrets(), *instance_env(INSTANCE)]:
        found.setdefault(name, []).append(where)
        if is_secret:
            secret.add(name)
    return tuple((name, Setting(name, name in secret, tuple(found[name]))) for name in sorted(found))


def _source_settings() -> Iterator[tuple[str, str, bool]]:
    from pipeline.sources.plugin import discover

    for source in discover():
        for name in source.needs:
            yield name, f"needs of source {source.name}", False
        for part, names in source.parts.items():
            for name in names:
                yield name, f"parts of source {source.name} ({part})", False


def _feed_secrets() -> Iterator[tuple[str, str, bool]]:
    from pipeline.sources.uk_ocpi.feeds import BUNDLED, load_feeds

    where = BUNDLED.relative_to(REPO)
    for feed in load_feeds(BUNDLED):
        if feed.token_env:
            yield feed.token_env, f"token_env of feed {feed.operator} in {where}", True


def instance_env(path: Path) -> Iterator[tuple[str, str, bool]]:
    """The variables an instance config reads through `env:` keys (Dagster's own config mechanism)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "env" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for name in walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
        yield name, f"{path.relative_to(REPO)} env:", name == PG_PASSWORD


# How each deployment file names a setting: an env file by assignments, a compose file by interpolations.
_ASSIGNMENT = re.compile(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}")


def env_file_values(path: Path) -> dict[str, str]:
    """The variables an env file names, each with its value as written (no unquoting): every
    `NAME=value` line and every commented `# NAME=value` line (a setting documented but left unset). A
    name given twice keeps its last value."""
    return dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))


def compose_names(path: Path) -> set[str]:
    """The variables a compose file interpolates: `${NAME}`, `${NAME:-default}`, `${NAME:?message}`
    (comment lines left out: Compose does not interpolate them)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return set(_INTERPOLATION.findall("\n".join(line for line in lines if not line.lstrip().startswith("#"))))


def dockerfile_instructions(keyword: str) -> list[str]:
    """The arguments of deploy/Dockerfile's `keyword` instructions (`CMD`, `ENV`...), in file order, as
    Docker reads them: comment lines dropped, continuation lines joined."""
    return [argument for instruction, argument in _dockerfile() if instruction == keyword]


@cache
def _dockerfile() -> tuple[tuple[str, str], ...]:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    joined = re.sub(r"\s*\\\n\s*", " ", text).splitlines()
    return tuple(
        (keyword, argument.strip())
        for keyword, _, argument in (line.strip().partition(" ") for line in joined)
        if keyword
    )
