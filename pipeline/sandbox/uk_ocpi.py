"""Fake UK charge point operators' OCPI 2.2.1 Locations open-data feeds on 127.0.0.1, and a set of them.

Real UK feeds bend the spec in known ways; a server's ``style`` fixes its envelope and paging for every
request, its ``quirks`` add what other real feeds do, and it asks for its secret as ``Authorization:
Token``, in another header or as a query parameter: ``_ocpi_wire`` lists them all.

``OcpiSandbox`` runs one server per operator (``FeedSpec``) and writes the feed list ``UK_OCPI_FEEDS``
names. A spec's ``hostile`` tries what a feed nobody controls might (``_ocpi_hostile``: a Link or a
redirect to another origin, a page without end, a gzip bomb); the other origin is a mirror of the feed on
127.0.0.2 (``mirrors``). Used by the demo, tests and benchmarks; production code never imports it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Self

from pipeline.sandbox._ocpi_data import (
    CASE_POWER_W,
    CASES,
    DEFAULT_FEEDS,
    OCPI_TOKEN,
    STYLES,
    TOKEN_ENV,
    FeedSpec,
    location_cases,
    make_locations,
    make_tariffs,
    party_id,
)
from pipeline.sandbox._ocpi_hostile import ELSEWHERE, HOSTILE, Hostile
from pipeline.sandbox._ocpi_server import LOCATIONS_PATH, TARIFFS_PATH, OcpiOperatorServer
from pipeline.sandbox._ocpi_tariffs import tariff_set
from pipeline.sandbox._ocpi_variants import apply
from pipeline.sandbox._origins import OTHER_HOST
from pipeline.sandbox._service import Service, close_stack, temporary_file

__all__ = [
    "CASES",
    "CASE_POWER_W",
    "DEFAULT_FEEDS",
    "FEEDS_ENV",
    "HOSTILE",
    "LOCATIONS_PATH",
    "OCPI_TOKEN",
    "STYLES",
    "TARIFFS_PATH",
    "TOKEN_ENV",
    "FeedSpec",
    "Hostile",
    "OcpiOperatorServer",
    "OcpiSandbox",
    "location_cases",
    "make_locations",
    "make_tariffs",
]

FEEDS_ENV = "UK_OCPI_FEEDS"
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


class OcpiSandbox(Service):
    """One ``OcpiOperatorServer`` per feed, and the feed list naming them (removed again on stop).

    ``specs`` defaults to ``DEFAULT_FEEDS`` (the five original styles, a token feed, a feed demanding 0.3 s
    between requests, one always failing, and two shaped like real UK feeds), with ``latency_s`` applied to
    each; ``seed`` feeds ``make_locations``, whose output each spec's ``variants`` then bend.
    """

    def __init__(
        self, specs: Sequence[FeedSpec] | None = None, *, seed: int = 23, latency_s: float = 0.0
    ) -> None:
        self.specs = (
            list(specs) if specs is not None else [replace(s, latency_s=latency_s) for s in DEFAULT_FEEDS]
        )
        operators = [spec.operator for spec in self.specs]
        if len(set(operators)) != len(operators):
            raise ValueError(f"operators must be unique, got {operators}")
        strays = [op for spec in self.specs for op in spec.tariffs_from if op not in operators]
        if strays:
            raise ValueError(f"tariffs_from names operators the sandbox does not run: {strays}")
        self.locations: dict[str, list[dict]] = {
            spec.operator: apply(make_locations(spec.operator, spec.locations, seed=seed), *spec.variants)
            if isinstance(spec.locations, int)
            else apply(spec.locations, *spec.variants)
            for spec in self.specs
        }
        self._servers: dict[str, OcpiOperatorServer] = {}
        self._mirrors: dict[str, OcpiOperatorServer] = {}
        self._feeds_path: Path | None = None
        self._stack: ExitStack | None = None

    @property
    def servers(self) -> dict[str, OcpiOperatorServer]:
        """Operator slug -> its running server."""
        self._running()
        return dict(self._servers)

    @property
    def mirrors(self) -> dict[str, OcpiOperatorServer]:
        """Operator slug -> the mirror on 127.0.0.2 that its ``link_elsewhere`` or ``redirect_elsewhere``
        leads to."""
        self._running()
        return dict(self._mirrors)

    @property
    def feeds_path(self) -> Path:
        """The feed list (YAML) naming every fake operator."""
        return self._running()

    def start(self) -> Self:
        """Start every operator, then write the feed list; on failure the started ones stop again."""
        if self._stack is not None:
            return self
        with ExitStack() as stack:
            mirrors = {
                spec.operator: stack.enter_context(self._server(spec, mirror=True))
                for spec in self.specs
                if spec.hostile and spec.hostile.kind in ELSEWHERE and not spec.hostile.elsewhere
            }
            servers = {
                spec.operator: stack.enter_context(self._server(spec, elsewhere=mirrors.get(spec.operator)))
                for spec in self.specs
            }
            text = feeds_yaml(self.specs, {op: s.url for op, s in servers.items()})
            path = temporary_file(stack, "sandbox-ocpi-", "feeds.yaml", text)
            self._servers, self._mirrors, self._feeds_path = servers, mirrors, path
            self._stack = stack.pop_all()
        return self

    def stop(self) -> None:
        """Stop every operator and remove the feed list; safe to call twice."""
        close_stack(self)
        self._servers, self._mirrors, self._feeds_path = {}, {}, None

    def env(self) -> dict[str, str]:
        """``UK_OCPI_FEEDS`` and every token variable the feed list names (``SANDBOX_OCPI_TOKEN`` always)."""
        tokens = {spec.token_env: spec.token for spec in self.specs if spec.token_env and spec.token}
        return {FEEDS_ENV: str(self.feeds_path), TOKEN_ENV: OCPI_TOKEN, **tokens}

    def tariffs(self, operator: str) -> list[dict]:
        """What `operator` publishes: the tariffs its connectors name (``make_tariffs``), those of every
        feed naming it in ``tariffs_from`` (as Evolt publishes ChargePlace Scotland's), then every case
        of ``_ocpi_tariffs`` under its party (``tariff_set``) when it has a tariffs endpoint, for
        connectors a variant points there (a document keeps only its own three, as before)."""
        others = [spec.operator for spec in self.specs if operator in spec.tariffs_from]
        own = [t for op in (operator, *others) for t in make_tariffs(op)]
        mode = next(spec.tariffs for spec in self.specs if spec.operator == operator)
        return own + tariff_set(party_id(operator)) if mode in ("paged", "per_id") else own

    def _running(self) -> Path:
        if self._feeds_path is None:
            raise RuntimeError("OcpiSandbox is not running; use it as a context manager")
        return self._feeds_path

    def _server(
        self, spec: FeedSpec, *, mirror: bool = False, elsewhere: OcpiOperatorServer | None = None
    ) -> OcpiOperatorServer:
        """The operator of `spec`; `mirror`: its pages on 127.0.0.2, asking for the token only when the
        feed list sends it there; `elsewhere`: the mirror its hostile Link or redirect leads to."""
        token = spec.token if not mirror or spec.send_secret_to else None
        hostile = spec.hostile
        if hostile is not None and elsewhere is not None:
            hostile = replace(hostile, elsewhere=elsewhere.base_url)
        return OcpiOperatorServer(
            self.locations[spec.operator],
            style=spec.style,
            page_size=spec.page_size,
            tariffs=self.tariffs(spec.operator),
            tariffs_mode=spec.tariffs,
            tariffs_down=spec.tariffs_down and not mirror,
            token=token,
            auth_header=spec.auth_header if token else None,
            auth_param=spec.auth_param if token else None,
            quirks=spec.quirks,
            min_interval_s=None if mirror else spec.min_interval_s,
            always_fail=spec.always_fail and not mirror,
            status_code=None if mirror else spec.status_code,
            latency_s=spec.latency_s,
            faults=None if mirror else spec.faults,
            hostile=None if mirror else hostile,
            host=OTHER_HOST if mirror else "127.0.0.1",
        )


def feeds_yaml(specs: Sequence[FeedSpec], urls: Mapping[str, str]) -> str:
    """The feed list, in the format ``pipeline/sources/uk_ocpi/feeds.yaml`` documents."""
    lines = [
        "# Fake UK OCPI feeds of the sandbox, on 127.0.0.1 only; removed when the sandbox stops.",
        "feeds:",
    ]
    for spec in specs:
        lines += [
            f"  - operator: {spec.operator}",
            f"    name: {_scalar(spec.name)}",
            f"    url: {urls[spec.operator]}",
        ]
        if spec.tariffs in ("paged", "per_id"):
            base = urls[spec.operator].removesuffix(LOCATIONS_PATH)
            tail = "/{tariff_id}" if spec.tariffs == "per_id" else ""
            lines.append(f"    tariffs_url: {json.dumps(base + TARIFFS_PATH + tail)}")
        if spec.tariffs_from:
            lines.append(f"    tariffs_from: [{', '.join(spec.tariffs_from)}]")
        if spec.token_env:
            lines.append(f"    token_env: {spec.token_env}")
        if spec.auth_header:
            lines.append(f"    header: {spec.auth_header}")
        if spec.auth_param:
            lines.append(f"    query_param: {spec.auth_param}")
        if spec.min_interval_s is not None:
            lines.append(f"    min_interval_s: {f'{spec.min_interval_s:.6f}'.rstrip('0').rstrip('.')}")
        for key in ("follow_hosts", "send_secret_to"):
            if hosts := getattr(spec, key):
                lines.append(f"    {key}: [{', '.join(hosts)}]")
    return "\n".join(lines) + "\n"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when that reads back as the same string, else double-quoted."""
    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9 .&()'-]*[A-Za-z0-9.)]|[A-Za-z]", text)
    return text if plain and text.lower() not in _YAML_WORDS else json.dumps(text)
