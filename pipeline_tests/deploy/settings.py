"""Every environment variable the code reads, found in the code itself, and the names each deployment
file gives: the one list of settings that `.env.example`, the compose file and the Helm values must name.

What counts as a read of the variable NAME (the package `pipeline/`, without `pipeline/sandbox/`, which
is test scaffolding):

- `EnvVar(NAME)`: resolved by Dagster when a run starts and never shown in the UI: a secret.
- `environ.get(NAME)`, `os.environ.get(NAME)`, `self.environ.get(NAME)`, `environ[NAME]`,
  `NAME in os.environ`, `os.getenv(NAME)`: any mapping called `environ`.
- `context.get(NAME)` / `context.has(NAME)` on a source's `SourceContext`, and `configured(environ, NAME)`.

NAME is a string literal, a local variable assigned one literal, or a module constant (`URL`,
`feeds.SETTING`), read by importing the module. Any other argument fails the scan naming file:line, so a
new dynamic read cannot slip past, unless it is one of the GENERIC readers below, which this module feeds
from where their names come from: each source's `needs` and `parts` (`discover()`), the bundled feed
list's `token_env` values (secrets), and the `env:` keys of deploy/dagster.yaml (DAGSTER_PG_PASSWORD is
a secret).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "pipeline"
EXCLUDED = ("pipeline/sandbox/",)
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

# Reads whose name is a parameter, as (file, enclosing function, argument); beside each, where its names
# come from.
GENERIC = frozenset(
    {
        ("pipeline/sources/plugin.py", "configured", "name"),  # configured(environ, NAME) calls (scanned)
        ("pipeline/sources/plugin.py", "SourceContext.has", "name"),  # context.has(NAME) calls (scanned)
        ("pipeline/sources/plugin.py", "SourceContext.get", "name"),  # context.get(NAME) calls (scanned)
        ("pipeline/sources/plugin.py", "Source.missing", "name"),  # each source's needs (discover())
        ("pipeline/sources/plugin.py", "Source.status", "name"),  # each source's parts (discover())
        ("pipeline/sources/uk_ocpi/auth.py", "_secret", "feed.token_env"),  # the feed list's token_env
    }
)


@dataclass(frozen=True)
class Setting:
    """A variable the code reads: whether it is a secret, and where the scan found it."""

    name: str
    secret: bool
    found: tuple[str, ...]


@dataclass(frozen=True)
class Read:
    """One read in the code: the variable, whether through EnvVar, and file:line."""

    name: str
    secret: bool
    where: str


class UnresolvedRead(ValueError):
    """A read whose variable the scan cannot name; the message lists each one as file:line."""


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


def scan(paths: Iterable[Path], *, root: Path) -> list[Read]:
    """The reads in `paths` (modules importable from `root`); `UnresolvedRead` lists every read whose
    variable cannot be named, unless GENERIC knows it."""
    reads: list[Read] = []
    unresolved: list[str] = []
    for path in paths:
        relative = path.relative_to(root).as_posix()
        if relative.startswith(EXCLUDED):
            continue
        module = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        finder = _Finder(relative, module)
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=relative))
        reads += finder.reads
        unresolved += finder.unresolved
    if unresolved:
        raise UnresolvedRead(
            "Environment reads whose variable the settings scan cannot name (use a literal or a module "
            "constant, or teach pipeline_tests/deploy/settings.py where the names come from):\n  "
            + "\n  ".join(unresolved)
        )
    return reads


class _Finder(ast.NodeVisitor):
    def __init__(self, relative: str, module: str) -> None:
        self.relative, self.module = relative, module
        self.scopes: list[ast.AST] = []
        self.names: list[str] = []
        self.reads: list[Read] = []
        self.unresolved: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.append(node.name)
        self.generic_visit(node)
        self.names.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.names.append(getattr(node, "name", "<lambda>"))
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()
        self.names.pop()

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        argument, secret = _read_argument(node)
        if argument is not None:
            self._record(argument, node.lineno, secret=secret)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            self._record(node.slice, node.lineno, secret=False)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and _is_environ(node.comparators[0])
        ):
            self._record(node.left, node.lineno, secret=False)
        self.generic_visit(node)

    def _record(self, argument: ast.expr, line: int, *, secret: bool) -> None:
        name = self._resolve(argument)
        if name is not None:
            self.reads.append(Read(name, secret, f"{self.relative}:{line}"))
            return
        text = ast.unparse(argument)
        if (self.relative, ".".join(self.names), text) not in GENERIC:
            self.unresolved.append(f"{self.relative}:{line}: {text} in {'.'.join(self.names) or '<module>'}")

    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if self.scopes:
                local = _local(self.scopes[-1], node.id)
                if local is not _ABSENT:
                    return local
            value = getattr(importlib.import_module(self.module), node.id, None)
            return value if isinstance(value, str) else None
        if isinstance(node, ast.Attribute):
            base = _dotted(node)
            if base is None or (self.scopes and _local(self.scopes[-1], base[0]) is not _ABSENT):
                return None
            value: Any = importlib.import_module(self.module)
            for part in base:
                value = getattr(value, part, None)
            return value if isinstance(value, str) else None
        return None


_ABSENT = object()
_VALUE_TYPES = ("int", "float", "bool")


def _read_argument(node: ast.Call) -> tuple[ast.expr | None, bool]:
    """The argument naming the variable when `node` reads one, and whether it is read as a secret."""
    func, args = node.func, node.args
    if not args:
        return None, False
    if _called(func) == "EnvVar" or (
        isinstance(func, ast.Attribute) and func.attr in _VALUE_TYPES and _called(func.value) == "EnvVar"
    ):
        return args[0], True
    if isinstance(func, ast.Attribute):
        if func.attr == "get" and _is_environ(func.value):
            return args[0], False
        if func.attr in ("get", "has") and isinstance(func.value, ast.Name) and func.value.id == "context":
            return args[0], False
    if _called(func) == "getenv":
        return args[0], False
    if _called(func) == "configured" and len(args) == 2:
        return args[1], False
    return None, False


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _is_environ(node: ast.expr) -> bool:
    return _called(node) == "environ"


def _dotted(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.insert(0, current.attr)
        current = current.value
    return [current.id, *parts] if isinstance(current, ast.Name) else None


def _local(scope: ast.AST, name: str) -> Any:
    """A function's local `name`: its one literal value, None (a parameter or anything else), or
    _ABSENT when the function does not bind it."""
    arguments = scope.args if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) else None
    if arguments is not None:
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        if any(argument.arg == name for argument in every):
            return None
    values = [
        node.value
        for node in ast.walk(scope)
        if isinstance(node, ast.Assign)
        and any(isinstance(target, ast.Name) and target.id == name for target in node.targets)
    ]
    if not values:
        return _ABSENT
    only = values[0] if len(values) == 1 else None
    return only.value if isinstance(only, ast.Constant) and isinstance(only.value, str) else None


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
