"""The environment reads in the code, found by reading its syntax tree: what pipeline_tests/deploy/settings.py
makes the one list of settings from.

What counts as a read of the variable NAME (the package `pipeline/`, without `pipeline/sandbox/`, which
is test scaffolding):

- `EnvVar(NAME)`: resolved by Dagster when a run starts and never shown in the UI: a secret.
- `environ.get(NAME)`, `os.environ.get(NAME)`, `self.environ.get(NAME)`, `environ[NAME]`,
  `NAME in os.environ`, `os.getenv(NAME)`: any mapping called `environ`.
- `context.get(NAME)` / `context.has(NAME)` on a source's `SourceContext`, and `configured(environ, NAME)`.

NAME is a string literal, a local variable assigned one literal, or a module constant (`URL`,
`feeds.SETTING`), read by importing the module. Any other argument fails the scan naming file:line, so a
new dynamic read cannot slip past, unless it is one of the GENERIC readers below, whose names
settings.py takes from where they come from: each source's `needs` and `parts` (`discover()`), the bundled
feed list's `token_env` values (secrets), and the `env:` keys of deploy/dagster.yaml (DAGSTER_PG_PASSWORD
is a secret).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXCLUDED = ("pipeline/sandbox/",)

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
class Read:
    """One read in the code: the variable, whether through EnvVar, and file:line."""

    name: str
    secret: bool
    where: str


class UnresolvedRead(ValueError):
    """A read whose variable the scan cannot name; the message lists each one as file:line."""


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
            "constant, or teach pipeline_tests/deploy/scan.py where the names come from):\n  "
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
