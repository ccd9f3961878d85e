"""Running a search on either engine, with what the public may see and nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import column, exists, func, literal_column, or_, select, table

from node.search.models import SearchDocument
from node.search.text import Query
from node.spaces.models import Component, Space

_FTS = table("search_index", column("rowid"))
_VECTOR = literal_column("search_documents.search_vector")


@dataclass(frozen=True)
class Hit:
    document: SearchDocument
    space_slug: str
    space_title: dict


def visible(statement):
    """Leave out what the public may not see: unpublished spaces and components (deleted
    comments are not indexed at all), and items hidden by moderation. Every search goes
    through here; extend it, not the queries, when a new notion of hidden appears."""
    from node.moderation.models import Moderation

    def hidden(subject_type, subject_id):
        return exists().where(Moderation.subject_type == subject_type, Moderation.subject_id == subject_id,
                              Moderation.hidden_at.is_not(None))

    return (statement
            .join(Space, Space.id == SearchDocument.space_id)
            .outerjoin(Component, Component.id == SearchDocument.component_id)
            .where(Space.published.is_(True),
                   or_(SearchDocument.component_id.is_(None), Component.published.is_(True)),
                   ~hidden(SearchDocument.item_type, SearchDocument.item_id),
                   # A comment on a hidden proposal or debate is hidden with it.
                   or_(SearchDocument.parent_type.is_(None),
                       ~hidden(SearchDocument.parent_type, SearchDocument.parent_id))))


def _matching(dialect: str, query: Query):
    """(the statement restricted to matches, its relevance order) for the engine."""
    base = select(SearchDocument, Space.slug, Space.title)
    if dialect == "sqlite":
        # bm25 is smaller for better matches; a title match weighs ten times a body match.
        rank = func.bm25(literal_column("search_index"), 10.0, 1.0)
        statement = (base.join(_FTS, _FTS.c.rowid == SearchDocument.id)
                     .where(literal_column("search_index").op("MATCH")(query.fts5())))
        return statement, rank.asc()
    tsquery = func.websearch_to_tsquery(literal_column("'simple'::regconfig"), query.websearch())
    return base.where(_VECTOR.op("@@")(tsquery)), func.ts_rank_cd(_VECTOR, tsquery).desc()


async def search(db, query: Query, *, space_id: int | None = None, item_type: str | None = None,
                 offset: int = 0, limit: int = 20) -> tuple[int, list[Hit]]:
    """(number of matches, one page of them, best first)."""
    statement, order = _matching(db.bind.dialect.name, query)
    statement = visible(statement)
    if space_id is not None:
        statement = statement.where(SearchDocument.space_id == space_id)
    if item_type is not None:
        statement = statement.where(SearchDocument.item_type == item_type)
    total = await db.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (await db.execute(statement.order_by(order, SearchDocument.id.desc())
                             .offset(offset).limit(limit))).all()
    return total, [Hit(document, slug, title) for document, slug, title in rows]


async def published_space_id(db, slug: str) -> int | None:
    return await db.scalar(select(Space.id).where(Space.slug == slug, Space.published.is_(True)))


def item_path(hit: Hit) -> str:
    doc, base = hit.document, f"/spaces/{hit.space_slug}"
    if doc.item_type == "space":
        return base
    if doc.item_type == "proposal":
        return f"{base}/proposals/{doc.item_id}"
    if doc.item_type == "debate":
        return f"{base}/c/{doc.component_id}/debates/{doc.item_id}"
    if doc.parent_type == "proposal":
        return f"{base}/proposals/{doc.parent_id}#comment-{doc.item_id}"
    if doc.parent_type == "debate":
        return f"{base}/c/{doc.component_id}/debates/{doc.parent_id}#comment-{doc.item_id}"
    return base
