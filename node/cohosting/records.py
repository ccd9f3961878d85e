"""Signed participation records: the public evidence every support count can be recounted from.

A partner node's resident's support is kept as received (node.cohosting.host). A local
resident's support or withdrawal is recorded here, in the transaction that changes the count, as
the same ``Like`` (or ``Undo`` of it) with an FEP-8b32 proof made by this node's actor: the node
states, at that moment, that its resident did it. Records are written once and never deleted.

``GET /spaces/<slug>/records`` publishes them, oldest first, 200 a page, with what a recount
needs besides (each proposals component's minimum supports per person); each record has its place
in the space's hash chain, and ``/spaces/<slug>/records/head`` is the chain's signed head
(node.cohosting.ledger).
"""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select

from federation.vocab import DATA_INTEGRITY_V2, default_context
from node.activitypub import uris
from node.appkeys import DB, SETTINGS
from node.cohosting.ledger import add_record, current_head, head_document, iso, published
from node.cohosting.models import ParticipationRecord
from node.db.base import utcnow
from node.spaces.models import Component, Space

PAGE = 200


def _context() -> list:
    context = default_context()
    context.insert(1, DATA_INTEGRITY_V2)
    return context


SIGNING = web.AppKey("records_signing", dict)  # {"lock": asyncio.Lock, "key": (seed hex, method)}


async def node_signing_key(app: web.Application) -> tuple[str, str]:
    """The node's Ed25519 seed and verificationMethod, read (or, on a node never initialised,
    created) once per process in its own transaction: a support's transaction, which holds
    SQLite's write lock, must not wait for a key to be generated, nor race others to create it."""
    import asyncio

    from node.keystore import ensure_node_keys, verification_method

    state = app[SIGNING]
    if state.get("key") is None:
        import federation.proofs  # noqa: F401  (imported here, not inside the first support's transaction)

        lock = state.setdefault("lock", asyncio.Lock())
        async with lock:
            if state.get("key") is None:
                async with app[DB].begin() as db:
                    key = await ensure_node_keys(db)
                    method = await verification_method(uris.node_actor(app[SETTINGS].base_url), key, db)
                state["key"] = (key.ed25519_seed_hex, method)
    return state["key"]


async def record_local(db, *, base_url: str, space_id: int, space_slug: str, proposal_id: int, user,
                       kind: str, signing: tuple[str, str] | None = None) -> ParticipationRecord:
    """Record this node's resident's support ("support") or its withdrawal ("withdrawal").
    ``signing``: node_signing_key(app) when serving (else the key is read in ``db``)."""
    from federation.proofs import create_proof
    from node.keystore import ensure_node_keys, verification_method

    now = utcnow()
    person = uris.user_actor(base_url, user.username)
    group = uris.space_actor(base_url, space_slug)
    object_uri = f"{base_url}/spaces/{space_slug}/proposals/{proposal_id}"
    if kind == "support":
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Like",
                    "actor": person, "object": object_uri, "audience": group, "published": iso(now)}
    else:
        support = await db.scalar(select(ParticipationRecord.activity).where(
            ParticipationRecord.actor_uri == person, ParticipationRecord.object_uri == object_uri,
            ParticipationRecord.kind == "support", ParticipationRecord.answer == "accepted")
            .order_by(ParticipationRecord.id.desc()).limit(1))
        undone = {k: v for k, v in (support or {}).items() if k != "@context"} or \
            {"type": "Like", "actor": person, "object": object_uri}
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Undo",
                    "actor": person, "object": undone, "audience": group, "published": iso(now)}
    if signing is None:
        key = await ensure_node_keys(db)
        signing = (key.ed25519_seed_hex, await verification_method(uris.node_actor(base_url), key, db))
    signed = create_proof(activity, *signing)
    record = ParticipationRecord(space_id=space_id, participant_id=None, actor_uri=person, kind=kind,
                                 object_uri=object_uri, activity_id=signed["id"], activity=signed,
                                 answer="accepted", received_at=now)
    return await add_record(db, record)


async def _published_space(request: web.Request, db) -> Space:
    space = await db.scalar(select(Space).where(Space.slug == request.match_info["slug"],
                                                Space.published.is_(True)))
    if space is None:
        raise web.HTTPNotFound(reason="No published space has this address")
    return space


async def records_head(request: web.Request) -> web.Response:
    """The node's signed statement of the space's chain of records now (node.cohosting.ledger)."""
    from node.activitypub.negotiation import activity_response

    signing = await node_signing_key(request.app)
    async with request.app[DB]() as db:
        space = await _published_space(request, db)
        size, chain_hash = await current_head(db, space.id)
    document = head_document(request.app[SETTINGS].base_url, space.slug, size, chain_hash, signing)
    response = activity_response(document)
    response.headers["Cache-Control"] = "no-store"
    return response


async def records_collection(request: web.Request) -> web.Response:
    """The space's records, oldest first; ``?after=<sequence>`` continues a page."""
    from node.activitypub.negotiation import activity_response

    raw = request.query.get("after", "0")
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPBadRequest(reason="after must be a record's sequence number, as in a previous page's next link")
    after = int(raw)
    base = request.app[SETTINGS].base_url
    async with request.app[DB]() as db:
        space = await _published_space(request, db)
        rows = (await db.scalars(select(ParticipationRecord).where(ParticipationRecord.space_id == space.id,
                                                                   ParticipationRecord.sequence > after)
                                 .order_by(ParticipationRecord.sequence).limit(PAGE))).all()
        components = (await db.scalars(select(Component).where(Component.space_id == space.id,
                                                               Component.kind == "proposals"))).all()
    from node.components.proposals.settings import settings_of

    group = uris.space_actor(base, space.slug)
    page_id = f"{group}/records" + (f"?after={after}" if after else "")
    document = {
        "@context": _context(), "id": page_id, "type": "OrderedCollectionPage", "partOf": f"{group}/records",
        "space": group, "node": uris.node_actor(base),
        "components": [{"id": c.id, "minimumSupportsPerPerson": settings_of(c)["minimum_supports_per_user"]}
                       for c in components],
        "head": f"{group}/records/head",
        "orderedItems": [{"sequence": r.sequence, **published(r), "chainHash": r.chain_hash} for r in rows],
    }
    if len(rows) == PAGE:
        document["next"] = f"{group}/records?after={rows[-1].sequence}"
    return activity_response(document)


async def witnessed_heads(request: web.Request) -> web.Response:
    """``GET /witnessed-heads?space=<space actor URI>``: the signed heads of another node's space
    that this node received with its answers to our residents, oldest first (the last 500)."""
    from node.activitypub.negotiation import activity_response
    from node.cohosting.models import WitnessedHead

    space_uri = request.query.get("space", "")
    if not space_uri.startswith(("https://", "http://")) or len(space_uri) > 2048:
        raise web.HTTPBadRequest(reason="space must be the URI of another node's space (its actor id)")
    async with request.app[DB]() as db:
        heads = (await db.scalars(select(WitnessedHead.document).where(WitnessedHead.space_uri == space_uri)
                                  .order_by(WitnessedHead.size.desc(), WitnessedHead.id.desc()).limit(500))).all()
    base = request.app[SETTINGS].base_url
    return activity_response({"@context": _context(), "type": "OrderedCollection",
                              "id": f"{base}/witnessed-heads?{urlencode({'space': space_uri})}", "space": space_uri,
                              "attributedTo": uris.node_actor(base), "totalItems": len(heads),
                              "orderedItems": list(reversed(heads))})
