"""The list of operators' feeds: a YAML file that can be edited without touching code.

The bundled `feeds.yaml` names the publicly documented open endpoints; `UK_OCPI_FEEDS` names another
file (the sandbox, the tests and every check use one, so nothing here calls a real operator by
accident). A list that does not parse, or an entry with a bad or missing key, fails when the code
loads, naming the file, the entry and the key. `feeds: []` is valid: the source is then off.

Beside `feeds:`, an optional `hosts:` map gives a host its least interval between two requests, all
its feeds together (`{info.smartcharging.uk: {min_interval_s: 2}}`); hosts.py says how it is kept.

A feed is read only on its URL's own origin unless its entry lists other hosts under `follow_hosts`
(a CDN serving later pages), and its secret goes only there unless `send_secret_to` names some of them.

An entry's OCPI Tariffs: `tariffs_url` (paged like Locations, or holding `{tariff_id}`: one request per
tariff its connectors name), and `tariffs_from`, other feeds of the list whose tariffs are looked up after
the feed's own (ChargePlace Scotland's connectors name tariffs only Evolt publishes). A feed whose one
document holds its tariffs (Mer UK) needs neither.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from pipeline.sources.uk_ocpi.hosts import host_key

SETTING = "UK_OCPI_FEEDS"
BUNDLED = Path(__file__).with_name("feeds.yaml")
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?")  # as hosts.host_key writes it


class Feed(BaseModel):
    """One operator's Locations endpoint. The token itself is never held here, only its variable's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: str = Field(pattern=r"^[a-z0-9_]+$", description="Slug: asset keys, paths, partitions.")
    name: str = Field(min_length=1, description="What outputs call the operator (the CSV's Operator).")
    url: str = Field(pattern=r"^https?://\S+$", description="The Locations endpoint, or the one document.")
    token_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Env var holding the feed's secret, sent as `Authorization: Token <value>` unless "
        "`header` or `query_param` says otherwise.",
    )
    header: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
        description="Send the secret as is in this header instead (Gridserve: `ec-subscription-key`).",
    )
    query_param: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.~-]+$",
        description="Send the secret as this query parameter on every request instead (Jolt: `apiKey`); "
        "any URL shown masks it as `***`.",
    )
    min_interval_s: float = Field(default=0.0, ge=0, description="Least time between two requests.")
    follow_hosts: tuple[str, ...] = Field(
        default=(),
        description="Other hosts a next page or a redirect may lead to (`cdn.example.org`: any port; "
        "`cdn.example.org:8443`: that port); any other origin fails the feed, nothing requested there.",
    )
    send_secret_to: tuple[str, ...] = Field(
        default=(),
        description="Those of `follow_hosts` that may also receive the feed's secret; otherwise it goes "
        "only to the origin (scheme, host, port) of the feed's own URL.",
    )
    tariffs_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="The feed's OCPI Tariffs: paged like Locations, or one request per tariff id its "
        "connectors name when it holds `{tariff_id}`; same auth, read on the same host clock.",
    )
    tariffs_from: tuple[str, ...] = Field(
        default=(),
        description="Operators of other feeds of the list whose tariffs are looked up after this feed's "
        "own, in this order.",
    )

    @field_validator("header", "query_param")
    @classmethod
    def _one_auth_style_with_its_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("token_env"):
            raise PydanticCustomError("auth", "needs `token_env`, the variable holding the secret to send")
        if value is not None and info.field_name == "query_param" and info.data.get("header"):
            raise PydanticCustomError("auth", "give `header` or `query_param`, not both")
        return value

    @field_validator("follow_hosts", "send_secret_to")
    @classmethod
    def _hosts_as_in_urls(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        hosts = tuple(host.strip().lower() for host in value)
        for host in hosts:
            if not _HOST.fullmatch(host):
                raise PydanticCustomError(
                    "host",
                    "{host} is not a host; write it as in a URL, without scheme, user or path "
                    "(`cdn.example.org`, `127.0.0.2:8080`)",
                    {"host": repr(host)},
                )
        if info.field_name == "send_secret_to" and hosts:
            if not info.data.get("token_env"):
                raise PydanticCustomError(
                    "auth", "needs `token_env`, the variable holding the secret to send"
                )
            followed = info.data.get("follow_hosts", ())
            strays = [host for host in hosts if host not in followed]
            if strays:
                raise PydanticCustomError(
                    "auth",
                    "{host} is not in `follow_hosts`; only a host the feed may be followed to can get "
                    "its secret",
                    {"host": repr(strays[0])},
                )
        return hosts


class Host(BaseModel):
    """A `hosts:` entry: how one host is asked, whichever of the list's feeds it serves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_interval_s: float = Field(
        ge=0,
        description="Least time between the starts of two requests to this host, all its feeds together; "
        "a feed's own min_interval_s on this host counts too, the larger wins.",
    )


@dataclass(frozen=True)
class FeedList:
    """A validated feed list: its feeds, and its `hosts:` map keyed by host (see hosts.host_key)."""

    feeds: tuple[Feed, ...]
    hosts: Mapping[str, Host]


class FeedListError(ValueError):
    """The feed list cannot be used; the message names the file, the entry and the key."""


def feeds_file(environ: Mapping[str, str]) -> Path:
    """The list in use: the file `UK_OCPI_FEEDS` names, else the bundled one."""
    named = environ.get(SETTING, "").strip()
    return Path(named).expanduser() if named else BUNDLED


def load_feeds(path: Path) -> list[Feed]:
    """Every feed of the list at `path`, validated; `FeedListError` says exactly what is wrong where.

    Read once per version of the file: loading the code asks whether the source is on, why, and for
    its feeds, and each would otherwise parse and validate the list again.
    """
    return list(_feed_list(path).feeds)


def load_hosts(path: Path) -> dict[str, float]:
    """The `hosts:` map of the list at `path`, host -> min_interval_s; `{}` without one."""
    return {key: host.min_interval_s for key, host in _feed_list(path).hosts.items()}


def _feed_list(path: Path) -> FeedList:
    """The list at `path`, parsed once per version of the file (its mtime and size)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise FeedListError(f"The feed list {path} cannot be read ({SETTING}): {exc.strerror}.") from None
    return _load(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> FeedList:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FeedListError(f"The feed list {path} cannot be read ({SETTING}): {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        raise FeedListError(f"The feed list {path} does not parse as YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("feeds"), list):
        raise FeedListError(
            f"The feed list {path} must be a mapping with a `feeds:` list (`feeds: []` for none)."
        )
    extra = sorted(set(document) - {"feeds", "hosts"})
    if extra:
        raise FeedListError(
            f"The feed list {path} has unknown top-level keys {extra}; only `feeds` and `hosts` are allowed."
        )
    feeds = [_feed(path, number, entry) for number, entry in enumerate(document["feeds"], start=1)]
    seen: dict[str, int] = {}
    for number, feed in enumerate(feeds, start=1):
        if feed.operator in seen:
            raise FeedListError(
                f"The feed list {path}, entry {number}, key `operator`: {feed.operator!r} is already used by "
                f"entry {seen[feed.operator]}; operators must be unique."
            )
        seen[feed.operator] = number
    for number, feed in enumerate(feeds, start=1):
        strays = [op for op in feed.tariffs_from if op not in seen or op == feed.operator]
        if strays:
            raise FeedListError(
                f"The feed list {path}, entry {number} ({feed.operator!r}), key `tariffs_from`: "
                f"{strays[0]!r} is not another feed of the list."
            )
    return FeedList(tuple(feeds), _hosts(path, document.get("hosts"), feeds))


def _hosts(path: Path, entries: object, feeds: list[Feed]) -> dict[str, Host]:
    """The `hosts:` map, keys lower-cased. An entry for a host no feed is on yet is kept (the bundled
    list sets the limits of token-gated hosts whose feeds are commented out), unless its name looks
    like a misspelt host of a feed: a typo would leave the real host without its interval."""
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise FeedListError(
            f"The feed list {path}, `hosts:` must map a host to its settings, e.g. "
            f"`hosts: {{example.org: {{min_interval_s: 2}}}}`; got {entries!r}."
        )
    used = sorted({host_key(url) for feed in feeds for url in (feed.url, feed.tariffs_url) if url})
    hosts: dict[str, Host] = {}
    for name, settings in entries.items():
        key = str(name).strip().lower()
        label = f"The feed list {path}, hosts entry {name!r}"
        if not _HOST.fullmatch(key):
            raise FeedListError(
                f"{label}: not a host; write it as in the feeds' URLs, without scheme, user or path "
                "(`info.smartcharging.uk`, `127.0.0.1:8080`)."
            )
        if key in hosts:
            raise FeedListError(f"{label}: the host is listed twice (host names ignore case).")
        near = [host for host in used if host.endswith(f".{key}") or key.endswith(f".{host}")]
        near = near or difflib.get_close_matches(key, used, n=1, cutoff=0.75)
        if key not in used and near:
            raise FeedListError(
                f"{label}: no feed of the list is on this host, but one is on {near[0]!r}; fix the name "
                "(it must equal the feeds' host, port included when their URLs name one)."
            )
        hosts[key] = _host(label, settings)
    return hosts


def _host(label: str, settings: object) -> Host:
    if not isinstance(settings, dict):
        raise FeedListError(f"{label}: expected a mapping like `{{min_interval_s: 2}}`, got {settings!r}.")
    try:
        return Host.model_validate(settings)
    except ValidationError as exc:
        raise FeedListError(f"{label}, {_first_problem(exc, Host)}.") from None


def _feed(path: Path, number: int, entry: object) -> Feed:
    if not isinstance(entry, dict):
        raise FeedListError(f"The feed list {path}, entry {number}: expected a mapping, got {entry!r}.")
    try:
        return Feed.model_validate(entry)
    except ValidationError as exc:
        label = f"entry {number}" + (
            f" ({entry['operator']!r})" if isinstance(entry.get("operator"), str) else ""
        )
        raise FeedListError(f"The feed list {path}, {label}, {_first_problem(exc, Feed)}.") from None


def _first_problem(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first validation error as "key `name`: what is wrong", unknown keys listing the allowed ones."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "?"
    problem = "missing" if error["type"] == "missing" else error["msg"]
    if error["type"] == "extra_forbidden":
        problem = f"unknown key (allowed: {', '.join(model.model_fields)})"
    return f"key `{key}`: {problem}"
