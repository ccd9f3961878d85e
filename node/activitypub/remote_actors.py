"""Remote actors: fetched through the SSRF-safe client, cached in memory and in `remote_actors`.

Lookup order for an actor URL or key id: memory (per process, an hour), then the table (shared by
the node's processes, a day), then the network.  ``refresh=True`` skips both caches: the inbox
asks for that once when a signature fails with a cached key (the actor may have rotated it).
Fetches are signed with the node actor's key, since servers in "authorized fetch" mode (Mastodon
secure mode) answer unsigned GETs with 401.
"""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urldefrag, urlsplit

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from federation.actors import ActorCache, ActorError, RemoteActor, parse_remote_actor
from federation.fetch import SafeFetcher, Signer
from federation.inbox import ResolvedActor
from federation.vocab import same_origin
from node.activitypub.models import RemoteActorRecord
from node.db.base import utcnow
from node.db.writes import begin_writing, holds_turn

TABLE_TTL = timedelta(hours=24)
MEMORY_TTL = 3600.0


def insert_ignoring_conflicts(engine: AsyncEngine, table):
    """INSERT … ON CONFLICT DO NOTHING on both engines (no exception, no aborted transaction)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


class RemoteActors:
    def __init__(self, engine: AsyncEngine, fetcher: SafeFetcher, signer_factory=None,
                 ttl: timedelta = TABLE_TTL):
        self.engine, self.fetcher, self.ttl = engine, fetcher, ttl
        self._signer_factory = signer_factory  # async () -> Signer | None
        self._signer: Signer | None = None
        self.memory = ActorCache(ttl=MEMORY_TTL)

    async def resolve(self, url: str, refresh: bool = False) -> ResolvedActor:
        if not refresh:
            actor = self.memory.get(urldefrag(url).url) or self.memory.get_by_key(url)
            if actor is None:
                actor = await self._from_table(url)
            if actor is not None:
                return ResolvedActor(actor, fresh=False)
        return ResolvedActor(await self.fetch(url), fresh=True)

    async def _from_table(self, url: str) -> RemoteActor | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(RemoteActorRecord.uri, RemoteActorRecord.document)
                .where(or_(RemoteActorRecord.uri == urldefrag(url).url, RemoteActorRecord.key_id == url),
                       RemoteActorRecord.fetched_at > utcnow() - self.ttl)
                .limit(1))).first()
        if row is None:
            return None
        try:
            actor = parse_remote_actor(row.document, row.uri)
        except ActorError:
            return None  # stored by an older, laxer version: fetch it again
        self.memory.put(actor)
        return actor

    async def fetch(self, url: str) -> RemoteActor:
        """Fetch and store the actor at ``url`` (an actor id, or a key id: a key document of the
        GoToSocial kind leads to its owner on the same origin)."""
        signer = await self._get_signer()
        fetched = await self.fetcher.get_document(urldefrag(url).url, signer)
        doc = fetched.data
        if "owner" in doc and "inbox" not in doc:
            owner = doc.get("owner")
            if not isinstance(owner, str) or not same_origin(owner, fetched.url):
                raise ActorError(f"the key document at {fetched.url} names no owner on its origin")
            fetched = await self.fetcher.get_document(owner, signer)
            doc = fetched.data
        actor = parse_remote_actor(doc, fetched.url)
        await self._save(actor, doc)
        self.memory.put(actor)
        return actor

    async def _save(self, actor: RemoteActor, doc: dict) -> None:
        if holds_turn(self.engine):
            # Resolved inside a writing transaction (co-hosting checks an attestation's node):
            # on SQLite a second writer would wait for that one's lock.  The memory cache has
            # it; the next fetch made outside a transaction stores it.
            return
        values = dict(uri=actor.id, key_id=actor.public_key_id, public_key_pem=actor.public_key_pem,
                      inbox=actor.inbox, shared_inbox=actor.shared_inbox,
                      preferred_username=(actor.preferred_username or "")[:255] or None,
                      host=(urlsplit(actor.id).netloc or "")[:255], document=doc, fetched_at=utcnow())
        stmt = insert_ignoring_conflicts(self.engine, RemoteActorRecord.__table__).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=["uri"],
                                          set_={k: v for k, v in values.items() if k != "uri"})
        async with begin_writing(self.engine) as conn:
            await conn.execute(stmt)

    async def _get_signer(self) -> Signer | None:
        if self._signer is None and self._signer_factory is not None:
            self._signer = await self._signer_factory()
        return self._signer

    async def close(self) -> None:
        await self.fetcher.close()
