"""Keeps search_documents in step with the items, inside the transaction that changes them.

ORM hooks rather than participation events: spaces have no events, and a hook cannot be
forgotten by a new code path that edits a title. Each searchable class registers a builder; the
hooks note which objects changed a watched attribute before a flush, and rewrite their documents
right after it, on the same connection. Rows deleted by database cascades (a space, a component)
take their documents with them through the foreign keys of search_documents.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, event, insert, inspect
from sqlalchemy.orm import Session

from node.search.models import SearchDocument

_PENDING = "civicnode_search_pending"


@dataclass(frozen=True)
class Source:
    item_type: str
    watched: tuple[str, ...]
    # obj -> the document's columns (without item_type/item_id), or None: not searchable (deleted).
    build: Callable[[object], dict | None]


_SOURCES: dict[type, Source] = {}


def register_source(cls: type, source: Source) -> None:
    _SOURCES[cls] = source


def sources() -> dict[type, Source]:
    return dict(_SOURCES)


def document_row(obj) -> dict | None:
    source = _SOURCES[type(obj)]
    fields = source.build(obj)
    if fields is None:
        return None
    return {"item_type": source.item_type, "item_id": obj.id, **fields}


def _changed(obj, watched: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watched)


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    pending = session.info.setdefault(_PENDING, {})
    for obj in session.new:
        if type(obj) in _SOURCES:
            pending[id(obj)] = obj
    for obj in session.dirty:
        source = _SOURCES.get(type(obj))
        if source and _changed(obj, source.watched):
            pending[id(obj)] = obj
    for obj in session.deleted:
        if type(obj) in _SOURCES:
            pending[id(obj)] = (_SOURCES[type(obj)].item_type, obj.id)


@event.listens_for(Session, "after_flush")
def _write(session: Session, flush_context) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    connection = session.connection()
    table = SearchDocument.__table__
    for item in pending.values():
        item_type, item_id = item if isinstance(item, tuple) else (_SOURCES[type(item)].item_type, item.id)
        connection.execute(delete(table).where(table.c.item_type == item_type, table.c.item_id == item_id))
        row = None if isinstance(item, tuple) else document_row(item)
        if row is not None:
            connection.execute(insert(table).values(**row))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
