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

`environ` may otherwise only be handed on whole: as the default of a parameter `environ`, or to a
function, method, class or callable keyword of the scanned code that takes a parameter `environ` (where
its reads are scanned). Any other use (another name for it, `env = os.environ`; a copy, `dict(os.environ)`,
`{**os.environ}`, `os.environ.copy()`; a read without a positional name, `environ.get(key=NAME)`; handing
it to anything else) fails the same way: what is read through it could not be seen.
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
    variable cannot be named, unless GENERIC knows it, and every other use of `environ`."""
    reads: list[Read] = []
    unresolved: list[str] = []
    trees = {}
    for path in paths:
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(EXCLUDED):
            trees[relative] = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
    receivers = _receivers(trees.values())
    for relative, tree in trees.items():
        module = relative.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        finder = _Finder(relative, module, receivers=receivers)
        finder.visit(tree)
        reads += finder.reads
        unresolved += finder.unresolved
    if unresolved:
        raise UnresolvedRead(
            "Environment reads whose variable the settings scan cannot name (read `environ` by name, a "
            "literal or a module constant, or teach pipeline_tests/deploy/scan.py where the names come "
            "from):\n  " + "\n  ".join(unresolved)
        )
    return reads


def _receivers(trees: Iterable[ast.AST]) -> frozenset[str]:
    """The names under which the scanned code takes the environment in a parameter called `environ`:
    functions and methods, classes with an `environ` field, and the keywords given such a function or a
    lambda (`off_when=no_feeds`), each scanned where it reads it."""
    functions: set[str] = set()
    keywords: list[tuple[str, ast.expr]] = []
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _takes_environ(node):
            functions.add(node.name)
        elif isinstance(node, ast.keyword) and node.arg is not None:
            keywords.append((node.arg, node.value))
    given = {
        name
        for name, value in keywords
        if _takes_environ(value) or (isinstance(value, ast.Name) and value.id in functions)
    }
    return frozenset(functions | given)


def _takes_environ(node: ast.AST) -> bool:
    """A function or lambda with a parameter `environ`, or a class with a field `environ`."""
    if isinstance(node, ast.ClassDef):
        return any(
            isinstance(item, ast.AnnAssign) and _called(item.target) == "environ" for item in node.body
        )
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        return any(argument.arg == "environ" for argument in every)
    return False


class _Finder(ast.NodeVisitor):
    """The reads of one module. Any other use of `environ` (a copy, another name for it, a read without a
    positional name, handing it to a callable that does not take it as `environ`) is unresolved: what is
    read through it could not be seen."""

    def __init__(self, relative: str, module: str, *, receivers: frozenset[str]) -> None:
        self.relative, self.module, self.receivers = relative, module, receivers
        self.scopes: list[ast.AST] = []
        self.names: list[str] = []
        self.reads: list[Read] = []
        self.unresolved: list[str] = []
        self.seen: set[int] = set()  # the `environ` nodes that are part of a read or handed on

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.append(node.name)
        self.generic_visit(node)
        self.names.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        arguments = node.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = [
            *zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True),
            *zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True),
        ]
        # `environ: Mapping[str, str] = os.environ`: the parameter's reads are scanned.
        self._seen(*(default for argument, default in defaults if argument.arg == "environ"))
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
            # environ.get(NAME), configured(environ, NAME)
            self._seen(node.func.value if isinstance(node.func, ast.Attribute) else None, *node.args)
        if _called(node.func) in self.receivers:  # handed on: Source.status(environ), SourceContext(environ)
            self._seen(*node.args, *(keyword.value for keyword in node.keywords if keyword.arg == "environ"))
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            self._record(node.slice, node.lineno, secret=False)
            self._seen(node.value)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if (
            len(node.ops) == 1
            and isinstance(node.ops[0], ast.In | ast.NotIn)
            and _is_environ(node.comparators[0])
        ):
            self._record(node.left, node.lineno, secret=False)
            self._seen(node.comparators[0])
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._environ_use(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._environ_use(node)
        self.generic_visit(node)

    def _seen(self, *nodes: ast.expr | None) -> None:
        self.seen.update(id(node) for node in nodes if node is not None and _is_environ(node))

    def _environ_use(self, node: ast.Name | ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and _is_environ(node) and id(node) not in self.seen:
            used = f"{ast.unparse(node)} used other than to read a variable by name"
            self.unresolved.append(f"{self.relative}:{node.lineno}: {used} in {self._where()}")

    def _where(self) -> str:
        return ".".join(self.names) or "<module>"

    def _record(self, argument: ast.expr, line: int, *, secret: bool) -> None:
        name = self._resolve(argument)
        if name is not None:
            self.reads.append(Read(name, secret, f"{self.relative}:{line}"))
            return
        text = ast.unparse(argument)
        if (self.relative, ".".join(self.names), text) not in GENERIC:
            self.unresolved.append(f"{self.relative}:{line}: {text} in {self._where()}")

    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if self.scopes:
                local = _local(self.scopes[-1], node.id)
                if local is not _ABSENT:
                    return local
            constant = getattr(importlib.import_module(self.module), node.id, None)
            return constant if isinstance(constant, str) else None
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
