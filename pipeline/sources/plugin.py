"""How a source plugs in: a folder under `pipeline/sources/` whose `definitions.py` declares `SOURCE`.

The top level (`pipeline/definitions.py`) imports every such module it finds, asks each source whether
its settings are there and merges the definitions of those that are on. Nothing outside a source's
folder names its assets: orchestration selects them by their `layer` tag.

A setting that is unset or empty (or only whitespace) counts as not configured. A source that is not
configured is not part of the deployment: no assets, no sensors, no resources, nothing that could fail
on a schedule tick; the startup log says which settings it is missing.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dagster import Definitions

from pipeline.resources.http import HttpSettings

log = logging.getLogger("pipeline.sources")
if not log.handlers:  # the startup log: shown by `dagster dev`, `dg list defs`, the code server, the CLI
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s pipeline - %(levelname)s - %(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@dataclass(frozen=True)
class SourceContext:
    """What a source's `build` gets: the environment it runs in and the HTTP policy for its client."""

    environ: Mapping[str, str]
    http: HttpSettings = field(default_factory=HttpSettings)

    def has(self, name: str) -> bool:
        return configured(self.environ, name)

    def get(self, name: str, default: str = "") -> str:
        """A setting's value with surrounding whitespace removed; `default` when unset or empty."""
        value = self.environ.get(name, "").strip()
        return value or default


@dataclass(frozen=True)
class Source:
    """One upstream: its name (folder, group, resource, sensor, asset prefix), the settings it needs,
    optional parts that need more settings, and how it builds its definitions when it is on."""

    name: str
    description: str
    needs: tuple[str, ...]
    build: Callable[[SourceContext], Definitions]
    parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Beyond settings being set: why the source is off in this environment, or None when it is on.
    # Raises when a setting is there but unusable (e.g. a list that does not parse): fail loudly.
    off_when: Callable[[Mapping[str, str]], str | None] | None = None
    on_because: Callable[[Mapping[str, str]], str] | None = None

    def missing(self, environ: Mapping[str, str]) -> list[str]:
        return [name for name in self.needs if not configured(environ, name)]

    def off_reason(self, environ: Mapping[str, str]) -> str | None:
        missing = self.missing(environ)
        if missing:
            return f"not configured ({', '.join(missing)} unset or empty)"
        return self.off_when(environ) if self.off_when else None

    def status(self, environ: Mapping[str, str]) -> str:
        """One line for the startup log: on or off, and why."""
        reason = self.off_reason(environ)
        if reason:
            return f"{self.name}: off, {reason}"
        why = self.on_because(environ) if self.on_because else f"{', '.join(self.needs)} set"
        line = f"{self.name}: on ({why})"
        for part, needs in self.parts.items():
            lacking = [name for name in needs if not configured(environ, name)]
            if lacking:
                line += f"; {part} off ({', '.join(lacking)} unset or empty)"
        return line


def configured(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def discover(package: str = "pipeline.sources") -> list[Source]:
    """Every `SOURCE` declared by a `<package>/<folder>/definitions.py`, in folder-name order."""
    root = importlib.import_module(package)
    sources = []
    for module in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if not module.ispkg:
            continue
        try:
            definitions = importlib.import_module(f"{package}.{module.name}.definitions")
        except ModuleNotFoundError as exc:
            if exc.name == f"{package}.{module.name}.definitions":
                continue  # a folder of shared code, not a source
            raise
        source = getattr(definitions, "SOURCE", None)
        if not isinstance(source, Source):
            raise TypeError(f"{definitions.__name__} must declare SOURCE = Source(...); found {source!r}")
        if source.name != module.name:
            raise ValueError(
                f"{definitions.__name__} declares source {source.name!r}; name it {module.name!r}"
            )
        sources.append(source)
    return sources


def build_sources(sources: list[Source], context: SourceContext) -> tuple[list[Definitions], list[str]]:
    """The definitions of every source that is on, and one status line per source."""
    built, statuses = [], []
    for source in sources:
        statuses.append(source.status(context.environ))
        if source.off_reason(context.environ) is None:
            built.append(source.build(context))
    return built, statuses
