"""The list of operators' feeds: a YAML file that can be edited without touching code.

The bundled `feeds.yaml` names the publicly documented open endpoints; `UK_OCPI_FEEDS` names another
file (the sandbox, the tests and every check use one, so nothing here calls a real operator by
accident). A list that does not parse, or an entry with a bad or missing key, fails when the code
loads, naming the file, the entry and the key. `feeds: []` is valid: the source is then off.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

SETTING = "UK_OCPI_FEEDS"
BUNDLED = Path(__file__).with_name("feeds.yaml")


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

    @field_validator("header", "query_param")
    @classmethod
    def _one_auth_style_with_its_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not info.data.get("token_env"):
            raise PydanticCustomError("auth", "needs `token_env`, the variable holding the secret to send")
        if value is not None and info.field_name == "query_param" and info.data.get("header"):
            raise PydanticCustomError("auth", "give `header` or `query_param`, not both")
        return value


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
    try:
        stat = path.stat()
    except OSError as exc:
        raise FeedListError(f"The feed list {path} cannot be read ({SETTING}): {exc.strerror}.") from None
    return list(_load(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> tuple[Feed, ...]:
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
    extra = sorted(set(document) - {"feeds"})
    if extra:
        raise FeedListError(
            f"The feed list {path} has unknown top-level keys {extra}; only `feeds` is allowed."
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
    return tuple(feeds)


def _feed(path: Path, number: int, entry: object) -> Feed:
    if not isinstance(entry, dict):
        raise FeedListError(f"The feed list {path}, entry {number}: expected a mapping, got {entry!r}.")
    try:
        return Feed.model_validate(entry)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "?"
        label = f"entry {number}" + (
            f" ({entry['operator']!r})" if isinstance(entry.get("operator"), str) else ""
        )
        problem = "missing" if error["type"] == "missing" else error["msg"]
        if error["type"] == "extra_forbidden":
            problem = f"unknown key (allowed: {', '.join(Feed.model_fields)})"
        raise FeedListError(f"The feed list {path}, {label}, key `{key}`: {problem}.") from None
