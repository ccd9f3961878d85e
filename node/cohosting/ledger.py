"""A space's participation records as a hash chain, and its signed head (DESIGN §5, Integrity).

Each record published at ``/spaces/<slug>/records`` has a place in its space's chain
(``sequence`` 1, 2, …) and the chain's hash after it::

    leaf(n)  = SHA-256(JCS(the record as published, without sequence and chainHash))
    chain(0) = 64 zeros
    chain(n) = SHA-256(bytes(chain(n-1)) || bytes(leaf(n)))      (hex, raw bytes concatenated)

``/spaces/<slug>/records/head`` is the node's signed statement (FEP-8b32 proof by the node's
actor) of how many records the space has and the chain's hash after the last one. The host
sends its head with every answer to a partner's resident; their node keeps it (WitnessedHead)
and publishes the heads it holds at ``/witnessed-heads``. A host that later deleted or changed
a record, even re-hashing the whole chain, no longer matches a head it signed earlier, held by
another node: ``civicnode recount --witness`` finds it.
"""
from __future__ import annotations

import hashlib

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.cohosting.models import ParticipationRecord, RecordsHead
from node.db.base import utcnow

ZERO = "0" * 64


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def published(record: ParticipationRecord) -> dict:
    """The record as ``/spaces/<slug>/records`` shows it; what its leaf hash covers, apart from
    ``sequence`` and ``chainHash`` (added after)."""
    return {"kind": record.kind, "answer": record.answer, "reason": record.reason, "informal": bool(record.informal),
            "received": iso(record.received_at), "activity": record.activity}


def leaf_hash(item: dict) -> str:
    import rfc8785

    covered = {k: v for k, v in item.items() if k not in ("sequence", "chainHash", "number")}
    return hashlib.sha256(rfc8785.dumps(covered)).hexdigest()


def link(previous: str, leaf: str) -> str:
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(leaf)).hexdigest()


async def add_record(db, record: ParticipationRecord) -> ParticipationRecord:
    """Add ``record`` at the end of its space's chain, in the caller's transaction.

    The head's row is written before it is read: on PostgreSQL the UPDATE locks it until the
    transaction ends, on SQLite it takes the database's write lock, so two records of a space are
    never chained on the same head (and the (space, sequence) constraint would refuse it anyway).
    """
    if record.received_at is None:
        record.received_at = utcnow()
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    await db.execute(insert(RecordsHead).values(space_id=record.space_id, size=0, chain_hash=ZERO)
                     .on_conflict_do_nothing(index_elements=["space_id"]))
    await db.execute(update(RecordsHead).where(RecordsHead.space_id == record.space_id)
                     .values(size=RecordsHead.size + 1))
    size, previous = (await db.execute(select(RecordsHead.size, RecordsHead.chain_hash)
                                       .where(RecordsHead.space_id == record.space_id))).one()
    record.sequence = size
    record.chain_hash = link(previous, leaf_hash(published(record)))
    await db.execute(update(RecordsHead).where(RecordsHead.space_id == record.space_id)
                     .values(chain_hash=record.chain_hash))
    db.add(record)
    return record


async def current_head(db, space_id: int) -> tuple[int, str]:
    row = (await db.execute(select(RecordsHead.size, RecordsHead.chain_hash)
                            .where(RecordsHead.space_id == space_id))).first()
    return (row[0], row[1]) if row else (0, ZERO)


def head_document(base_url: str, slug: str, size: int, chain_hash: str, signing: tuple[str, str]) -> dict:
    """The signed head: ``signing`` is node_signing_key(app) (seed hex, verificationMethod)."""
    from federation.proofs import create_proof
    from federation.vocab import DATA_INTEGRITY_V2, default_context
    from node.activitypub import uris

    context = default_context()
    context.insert(1, DATA_INTEGRITY_V2)
    group = uris.space_actor(base_url, slug)
    document = {"@context": context, "id": f"{group}/records/head?size={size}", "type": "RecordsHead",
                "attributedTo": uris.node_actor(base_url), "space": group, "records": f"{group}/records",
                "totalItems": size, "chainHash": chain_hash, "published": iso(utcnow())}
    return create_proof(document, *signing)


def verify_chain(items: list[dict], start: tuple[int, str] = (0, ZERO)) -> tuple[int, str, str | None]:
    """Walk published records in order from ``start`` = (size, hash): (size, hash, problem)."""
    size, chain = start
    for item in items:
        if item.get("sequence") != size + 1:
            return size, chain, f"record {size + 1} is missing (the next one says {item.get('sequence')!r})"
        chain = link(chain, leaf_hash(item))
        size += 1
        if item.get("chainHash") != chain:
            return size, chain, f"record {size}: its chainHash does not follow from the records before it"
    return size, chain, None
