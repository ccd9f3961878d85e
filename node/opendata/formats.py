"""The two export formats, written as a stream through `sink` (an `async (bytes) -> None`):

- JSON: one document, ``{"generator", "generated_at", "node", "space", "spaces": [...],
  "proposals": [...], "debates": [...], "comments": [...], "budgets": [...]}``, whose items are
  exactly the API's;
- CSV: a zip of one UTF-8 CSV per resource type, with a header row, plus a ``datapackage.json``
  (Frictionless Data) describing the columns. Columns come from the API's OpenAPI schemas, so
  they are the API's fields: nested objects become ``author/username``, translated texts one
  column per language (``title/fr``…), and lists their own file (``phases.csv``…).

CSV cells a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) get a leading apostrophe (OWASP "CSV injection"); the JSON keeps every text exact.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import AsyncIterator, Awaitable, Callable

from node import __version__
from node.config import LOCALES
from node.opendata import sources
from node.opendata.sources import Scope

Sink = Callable[[bytes], Awaitable[None]]
FLUSH_BYTES = 64 * 1024
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Buffered:
    """Collects small writes and hands them to the sink in chunks of about FLUSH_BYTES."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.parts: list[bytes] = []
        self.size = 0

    async def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.parts.append(data)
        self.size += len(data)
        if self.size >= FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self.parts:
            data, self.parts, self.size = b"".join(self.parts), [], 0
            await self.sink(data)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _header(scope: Scope, now: datetime) -> dict:
    return {"generator": f"civicnode {__version__}", "generated_at": now.isoformat().replace("+00:00", "Z"),
            "node": scope.base_url, "space": scope.space_slug}


async def write_json(sessionmaker, scope: Scope, sink: Sink) -> dict[str, int]:
    """The export as one JSON document; returns how many items of each kind it holds."""
    out = _Buffered(sink)
    counts: dict[str, int] = {}
    await out.write(json.dumps(_header(scope, _now()), ensure_ascii=False)[:-1])
    resources = (("spaces", sources.spaces), ("proposals", sources.proposals),
                 ("debates", sources.debates), ("comments", sources.comments), ("budgets", sources.budgets))
    for name, rows in resources:
        await out.write(f',\n"{name}": [')
        count = 0
        async for item in rows(sessionmaker, scope):
            await out.write(("\n" if count == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
            count += 1
        counts[name] = count
        await out.write("\n]")
    await out.write("}\n")
    await out.flush()
    return counts


# --- CSV ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Frictionless field type


def _resolve(prop: dict, schemas: dict) -> dict:
    if "$ref" in prop:
        return schemas[prop["$ref"].rsplit("/", 1)[1]]
    for option in prop.get("oneOf", ()):
        option = _resolve(option, schemas)
        if option.get("type") != "null":
            return option  # a nullable object or text: the columns of what it is when present
    return prop


def _field_type(prop: dict) -> str:
    kind = prop.get("type")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    if prop.get("format") == "date-time":
        return "datetime"
    if prop.get("format") == "date":
        return "date"
    return {"integer": "integer", "boolean": "boolean", "number": "number"}.get(kind, "string")


def _options(prop: dict, schemas: dict) -> list[dict]:
    """What a value may be: each non-null alternative of a ``oneOf`` (an author is this node's
    account or a partner node's resident: both get their columns), else the property itself."""
    if "oneOf" not in prop:
        return [_resolve(prop, schemas)]
    options = [_resolve(option, schemas) for option in prop["oneOf"]]
    return [option for option in options if option.get("type") != "null"] or [prop]


def columns_of(schema: dict, schemas: dict, prefix: str = "") -> list[Column]:
    """CSV columns of an OpenAPI object schema; arrays are left out (they get a file of their own)."""
    columns: list[Column] = []
    for name, prop in schema.get("properties", {}).items():
        for option in _options(prop, schemas):
            if option is schemas.get("Translated"):
                columns += [Column(f"{prefix}{name}/{lang}", "string") for lang in LOCALES]
            elif "properties" in option:
                columns += columns_of(option, schemas, f"{prefix}{name}/")
            elif option.get("type") != "array":
                columns.append(Column(prefix + name, _field_type(option)))
    return list(dict.fromkeys(columns))  # alternatives may share a column


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def flatten(item: dict, prefix: str = "") -> dict[str, str]:
    """An API object as one CSV row: nested objects as a/b, lists and nulls left out (a
    missing cell is empty, whether the null stood for a value or for a whole object)."""
    row: dict[str, str] = {}
    for key, value in item.items():
        if value is None:
            continue
        if isinstance(value, dict):
            row.update(flatten(value, f"{prefix}{key}/"))
        elif not isinstance(value, list):
            row[prefix + key] = _cell(value)
    return row


@dataclass(frozen=True)
class Table:
    name: str
    columns: list[Column]
    rows: Callable[[object, Scope], AsyncIterator[dict]]


async def _space_parts(key: str, sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    async for item in sources.spaces(sessionmaker, scope):
        for part in item[key]:
            yield {"space": item["slug"], **part}


def by_origin_cell(counts: dict | None) -> str:
    """``supports_by_origin`` in one CSV cell, ``host count; host count`` (its keys are hosts, so
    no fixed set of columns can hold it)."""
    return "; ".join(f"{host} {number}" for host, number in (counts or {}).items())


async def _proposal_rows(sessionmaker, scope: Scope) -> AsyncIterator[dict]:
    async for item in sources.proposals(sessionmaker, scope, with_versions=False):
        if "supports_by_origin" in item:
            item["supports_by_origin"] = by_origin_cell(item["supports_by_origin"])
        yield item


def tables() -> list[Table]:
    from node.api.views import openapi_document

    schemas = openapi_document("")["components"]["schemas"]
    space_props = schemas["Space"]["properties"]
    parent = [Column("space", "string")]
    return [
        Table("spaces", columns_of(schemas["Space"], schemas), sources.spaces),
        Table("phases", parent + columns_of(space_props["phases"]["items"], schemas),
              lambda sm, scope: _space_parts("phases", sm, scope)),
        Table("components", parent + columns_of(space_props["components"]["items"], schemas),
              lambda sm, scope: _space_parts("components", sm, scope)),
        Table("proposals", columns_of(schemas["Proposal"], schemas), _proposal_rows),
        Table("proposal_versions", [Column("proposal_id", "integer")]
              + columns_of(schemas["ProposalVersion"], schemas), sources.proposal_versions),
        Table("debates", columns_of(schemas["Debate"], schemas), sources.debates),
        Table("comments", columns_of(schemas["Comment"], schemas), sources.comments),
        Table("budgets", columns_of(schemas["Budget"], schemas), sources.budgets),
        Table("budget_projects", [Column("budget_id", "integer")] + columns_of(schemas["BudgetProject"], schemas),
              sources.budget_projects),
    ]


class _Pipe(io.RawIOBase):
    """What zipfile writes into: bytes wait here until the exporter hands them to the sink.
    Not seekable, so zipfile streams (sizes go in data descriptors after each member)."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)

    def take(self) -> bytes:
        chunk = bytes(self.data)
        self.data.clear()
        return chunk


def _field(column: Column) -> dict:
    # "any": the API's times are ISO 8601 with or without fractions of a second.
    return {"name": column.name, "type": column.type, **({"format": "any"} if column.type == "datetime" else {})}


def _datapackage(scope: Scope, now: datetime, written: list[Table]) -> dict:
    name = f"civicnode-{scope.space_slug}" if scope.space_slug else "civicnode-node"
    return {
        "profile": "tabular-data-package", "name": name, "created": _header(scope, now)["generated_at"],
        "homepage": scope.base_url or None,
        "resources": [{
            "name": table.name.replace("_", "-"), "path": f"{table.name}.csv", "profile": "tabular-data-resource",
            "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "schema": {"fields": [_field(c) for c in table.columns]},
        } for table in written],
    }


async def write_csv_zip(sessionmaker, scope: Scope, sink: Sink) -> dict[str, int]:
    """The export as a zip of CSV files; returns how many rows each file holds."""
    import zipfile  # only exports need it (and zlib), not an idle node

    now = _now()
    pipe = _Pipe()
    counts: dict[str, int] = {}
    written = tables()

    def member(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=now.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    with zipfile.ZipFile(pipe, "w") as archive:
        for table in written:
            with archive.open(member(f"{table.name}.csv"), "w") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = csv.DictWriter(text, [c.name for c in table.columns], extrasaction="ignore")
                writer.writeheader()
                count = 0
                async for item in table.rows(sessionmaker, scope):
                    writer.writerow(flatten(item))
                    count += 1
                    if len(pipe.data) >= FLUSH_BYTES:
                        await sink(pipe.take())
                text.flush()
                text.detach()  # the member is closed by `with`, which writes its sizes
            counts[table.name] = count
            await sink(pipe.take())
        archive.writestr(member("datapackage.json"),
                         json.dumps(_datapackage(scope, now, written), ensure_ascii=False, indent=1))
    await sink(pipe.take())
    return counts
