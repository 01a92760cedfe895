"""What the catalog shows of a table: its columns, and which upstream columns each one is computed from.

Both come from the contracts, declared once: the pandera models of the tables, and the record models
of the raw JSON (pydantic or msgspec). Column lineage follows a rule and its exceptions: a column takes
its values from the column of the same name in its upstream tables, unless the asset names the
upstream columns it is computed from. An exception naming a column no upstream has is a definition
error, so a renamed field cannot leave lineage pointing nowhere.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec
import pandera.pandas as pa
from dagster import AssetKey, TableColumn, TableColumnDep, TableColumnLineage, TableSchema
from pydantic import BaseModel

from pipeline.sources.contract import column_schema

SCHEMA = "dagster/column_schema"
LINEAGE = "dagster/column_lineage"

Upstream = Mapping[str, Iterable[str]]  # upstream asset → its column names


Table = type[pa.DataFrameModel] | TableSchema  # a table's contract, or a schema already built


def schema_of(table: Table) -> TableSchema:
    return table if isinstance(table, TableSchema) else column_schema(table)


def columns(table: Table) -> list[str]:
    """The column names of a table's contract or schema, in order."""
    return [column.name for column in schema_of(table).columns]


Source = str | tuple[str, str]  # an upstream column by name, or (asset, column)


def table(
    model: Table,
    *,
    upstream: Upstream | None = None,
    computed_from: Mapping[str, Sequence[Source]] | None = None,
    also: Upstream | None = None,
) -> dict[str, Any]:
    """Definition metadata for a table asset: its column schema and, when derived, its column lineage.

    `upstream` names the assets it reads and their columns; `computed_from` lists, for a column that
    does not simply carry the upstream column of its name, the upstream columns it is computed from
    (an empty list: none, e.g. the snapshot day). A column named `(asset, column)` is looked up in that
    asset only, which may be one of `also`: assets whose columns are used only where named so.
    """
    schema = schema_of(model)
    metadata: dict[str, Any] = {SCHEMA: schema}
    if upstream is not None:
        metadata[LINEAGE] = lineage(columns(schema), upstream, computed_from or {}, also=also)
    return metadata


def rejects_from(raw: TableSchema) -> dict[str, list[str]]:
    """A rejects table's lineage: `record` holds the raw record; where and why are the pipeline's."""
    return {"location": [], "reason": [], "record": columns(raw)}


def lineage(
    names: Sequence[str],
    upstream: Upstream,
    computed_from: Mapping[str, Sequence[Source]],
    *,
    also: Upstream | None = None,
) -> TableColumnLineage:
    available = {asset: set(cols) for asset, cols in upstream.items()}
    known = {**available, **{asset: set(cols) for asset, cols in (also or {}).items()}}
    unknown = sorted(set(computed_from) - set(names))
    if unknown:
        raise ValueError(f"column lineage names columns the table does not have: {unknown}")
    deps: dict[str, list[TableColumnDep]] = {}
    for name in names:
        found: list[TableColumnDep] = []
        for source in computed_from.get(name, [name]):
            if isinstance(source, tuple):
                asset, column = source
                places = [asset] if column in known.get(asset, ()) else []
            else:
                asset, column = "", source
                places = [asset for asset, cols in available.items() if column in cols]
            if not places and name in computed_from:
                raise ValueError(f"column `{name}` is computed from `{column}`, which no upstream has")
            found += [TableColumnDep(asset_key=AssetKey(place), column_name=column) for place in places]
        if found:
            deps[name] = found
    return TableColumnLineage(deps_by_column=deps)


def record_schema(
    model: type[BaseModel] | type[msgspec.Struct], *, prefix: str = "", record: str = "record"
) -> TableSchema:
    """The fields the pipeline reads from each raw JSON record, nested ones as dotted paths."""
    return TableSchema(columns=list(_record_columns(model, prefix, record)))


def combined(*schemas: TableSchema) -> TableSchema:
    return TableSchema(columns=[column for schema in schemas for column in schema.columns])


def _record_columns(model: type, prefix: str, record: str) -> Iterable[TableColumn]:
    for name, annotation in _fields(model):
        nested = _nested_model(annotation)
        if nested is not None:
            yield from _record_columns(nested, f"{prefix}{name}.", record)
        else:
            path = f"{prefix}{name}"
            description = f"`{path}` of each {record}."
            yield TableColumn(name=path, type=_type_name(annotation), description=description)


def _fields(model: type) -> list[tuple[str, object]]:
    if issubclass(model, msgspec.Struct):
        return [(field.encode_name, field.type) for field in msgspec.structs.fields(model)]
    return [(name, field.annotation) for name, field in model.model_fields.items()]  # type: ignore[attr-defined]


def _nested_model(annotation: object) -> type | None:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, (BaseModel, msgspec.Struct)):
            return option
    return None


def _options(annotation: object) -> tuple[object, ...]:
    """The types a field may hold: a union's members, each without its `Annotated` wrapper."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _options(typing.get_args(annotation)[0])
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return tuple(option for member in typing.get_args(annotation) for option in _options(member))
    return (annotation,)


def _type_name(annotation: object) -> str:
    names = []
    for option in _options(annotation):
        if option is type(None):
            continue
        base = getattr(option, "__supertype__", option)
        names.append(getattr(base, "__name__", str(base)))
    nullable = any(option is type(None) for option in _options(annotation))
    return " | ".join(names) + (" | null" if nullable else "")
