"""Public JSON read API of proposals. Support counts appear only where the component's
results-visibility policy lets an anonymous visitor see them; the order never depends on them."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import and_, func, select

from node.activitypub.outbox import host_of
from node.cohosting.counts import informal_counts, supports_by_origin
from node.accounts.models import User
from node.api.authors import REMOTE_AUTHOR_REF, REMOTE_AUTHOR_SCHEMA, remote_author_json
from node.cohosting.models import RemoteParticipant
from node.components import comments
from node.api.pagination import PAGE_PARAMETERS, page_request, page_schema
from node.api.views import json
from node.appkeys import DB, SETTINGS
from node.components.proposals.models import STATES, Proposal, ProposalVersion
from node.components.proposals.settings import counts_visible, settings_of
from node.components.proposals.versions import author_uri, iso_utc
from node.groups.acting import OPENAPI_SCHEMA as GROUP_SCHEMA
from node.groups.acting import group_json
from node.groups.models import UserGroup
from node.spaces.models import Component, Phase, Space
from node.moderation.visibility import not_hidden
from node.web.errors import user_error

MAX_ID = 2**31 - 1


def _iso(moment):
    return iso_utc(moment) if moment else None


def proposal_json(proposal: Proposal, author: User | None, version: ProposalVersion, space: Space,
                  base: str, show_counts: bool, group: UserGroup | None = None,
                  origins: dict[str, int] | None = None, informal: int = 0,
                  remote: RemoteParticipant | None = None) -> dict:
    """`remote`: the partner node's resident who wrote it from their node, if one did."""
    item = {
        "id": proposal.id, "url": f"{base}/spaces/{space.slug}/proposals/{proposal.id}",
        "space": space.slug, "component_id": proposal.component_id,
        "title": proposal.title, "body": proposal.body, "category": proposal.category,
        "address": proposal.address, "state": proposal.state, "answer": proposal.answer,
        "answered_at": _iso(proposal.answered_at), "created_at": _iso(proposal.created_at),
        # A partner node's resident who wrote it from their node: an object (their actor there,
        # name and node), never a bare URI a reader could take for this node's account.
        "author": author_uri(base, author.username) if author
        else remote_author_json(remote.actor_uri, remote.display_name, remote.home_host) if remote else None,
        "user_group": group_json(group.nickname, group.name) if group else None,
        "version": proposal.version_number, "fingerprint": version.fingerprint,
        "comments_count": proposal.comments_count,
    }
    if show_counts:
        item["support_count"] = proposal.support_count
        item["supports_by_origin"] = origins or {}
        item["informal_support_count"] = informal
    return item


def version_json(version: ProposalVersion) -> dict:
    return {"number": version.number, "title": version.title, "body": version.body,
            "created_at": _iso(version.created_at), "canonical_json": version.canonical_json,
            "fingerprint": version.fingerprint}


def _base_query():
    return (select(Proposal, User, ProposalVersion, UserGroup, RemoteParticipant)
            .outerjoin(User, User.id == Proposal.author_id)
            .outerjoin(RemoteParticipant, RemoteParticipant.id == Proposal.remote_participant_id)
            .outerjoin(UserGroup, UserGroup.id == Proposal.user_group_id)
            .join(ProposalVersion, and_(ProposalVersion.proposal_id == Proposal.id,
                                        ProposalVersion.number == Proposal.version_number))
            .join(Component, Component.id == Proposal.component_id)
            .where(Component.published.is_(True), not_hidden("proposal", Proposal.id)))


async def _visibility(db, space: Space) -> dict[int, bool]:
    """Per component of the space: may anonymous readers see the counts?"""
    phase_id = await db.scalar(select(Phase.id).where(Phase.space_id == space.id, Phase.active.is_(True)))
    components = await db.scalars(select(Component).where(Component.space_id == space.id,
                                                          Component.kind == "proposals"))
    return {c.id: counts_visible(settings_of(c), phase_id, None) for c in components}


async def list_proposals(request: web.Request) -> web.Response:
    paging = page_request(request)
    state = request.query.get("state", "")
    if state and state not in STATES:
        raise user_error(400, "state must be one of not_answered, evaluating, accepted, rejected, withdrawn.")
    async with request.app[DB]() as db:
        space = await db.scalar(select(Space).where(Space.slug == request.match_info["slug"],
                                                    Space.published.is_(True)))
        if space is None:
            raise user_error(404, "No published space has this slug.")
        where = [Proposal.space_id == space.id]
        if state:
            where.append(Proposal.state == state)
        if request.query.get("category"):
            where.append(Proposal.category == request.query["category"])
        query = _base_query().where(*where)
        total = await db.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await db.execute(query.order_by(Proposal.id).offset(paging.offset).limit(paging.per_page))).all()
        shown = await _visibility(db, space)
        visible = [row[0].id for row in rows if shown.get(row[0].component_id)]
        origins = await supports_by_origin(db, visible, host_of(request.app[SETTINGS].base_url))
        informal = await informal_counts(db, visible)
    base = request.app[SETTINGS].base_url
    return json(paging.envelope([proposal_json(p, a, v, space, base, shown.get(p.component_id, False), g,
                                               origins.get(p.id), informal.get(p.id, 0), r)
                                 for p, a, v, g, r in rows], total))


async def get_proposal(request: web.Request) -> web.Response:
    raw = request.match_info["proposal_id"]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise user_error(404, "No published proposal has this id.")
    async with request.app[DB]() as db:
        row = (await db.execute(_base_query().add_columns(Space).join(Space, Space.id == Proposal.space_id)
                                .where(Proposal.id == int(raw), Space.published.is_(True)))).first()
        if row is None:
            raise user_error(404, "No published proposal has this id.")
        proposal, author, version, group, remote, space = row
        shown = (await _visibility(db, space)).get(proposal.component_id, False)
        origins = (await supports_by_origin(db, [proposal.id], host_of(request.app[SETTINGS].base_url))
                   ).get(proposal.id) if shown else None
        informal = (await informal_counts(db, [proposal.id])).get(proposal.id, 0)
        versions = (await db.scalars(select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
                                     .order_by(ProposalVersion.number))).all()
    base = request.app[SETTINGS].base_url
    item = proposal_json(proposal, author, version, space, base, shown, group, origins, informal, remote)
    item["versions"] = [version_json(v) for v in versions]
    return json(item)


def setup_api(app: web.Application) -> None:
    app.router.add_get("/api/spaces/{slug}/proposals", list_proposals, name="api_proposals")
    app.router.add_get("/api/proposals/{proposal_id}", get_proposal, name="api_proposal")
    comments.setup_api(app)  # idempotent: every commentable kind calls it


def openapi() -> tuple[dict, dict]:
    error = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    string_or_null = {"type": ["string", "null"]}
    proposal_props = {
        "id": {"type": "integer"}, "url": {"type": "string", "format": "uri"}, "space": {"type": "string"},
        "component_id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": "string"},
        "category": {"type": "string"}, "address": {"type": "string"},
        "state": {"type": "string", "enum": list(STATES)}, "answer": {"type": "string"},
        "answered_at": {**string_or_null, "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "author": {"oneOf": [{**string_or_null, "description": "Actor URI of this node's account that wrote it."},
                             REMOTE_AUTHOR_REF]},
        "user_group": GROUP_SCHEMA,
        "version": {"type": "integer", "description": "Number of the current version."},
        "fingerprint": {"type": "string", "description": "SHA-256 (hex) of the current version's canonical JSON."},
        "comments_count": {"type": "integer"},
        "support_count": {"type": "integer", "description": "Only present when the component's "
                          "results-visibility policy shows counts to everyone at this moment."},
        "supports_by_origin": {"type": "object", "additionalProperties": {"type": "integer"},
                               "description": "Counted supports per home node (host name): this node's "
                               "residents and, in a co-hosted space, each partner node's. Present with "
                               "support_count; the values add up to it."},
        "informal_support_count": {"type": "integer", "description": "Supports from residents of nodes that are "
                                   "not partners, in a space open to any follower: counted apart, not in "
                                   "support_count. Present with support_count."},
    }
    required = ["id", "url", "title", "body", "state", "created_at", "version", "fingerprint"]
    version_schema = {"type": "object", "required": ["number", "title", "body", "canonical_json", "fingerprint"],
                      "properties": {"number": {"type": "integer"}, "title": {"type": "string"},
                                     "body": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
                                     "canonical_json": {"type": "string", "description": "RFC 8785 (JCS) text "
                                                        "the fingerprint is the SHA-256 of."},
                                     "fingerprint": {"type": "string"}}}
    paths = {
        "/api/spaces/{slug}/proposals": {"get": {
            "summary": "Proposals of a published space", "operationId": "listProposals",
            "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}},
                           {"name": "category", "in": "query", "schema": {"type": "string"}},
                           *PAGE_PARAMETERS],
            "responses": {"200": {"description": "A page of proposals, oldest first", "content": {
                "application/json": {"schema": page_schema("#/components/schemas/Proposal")}}},
                "400": error, "404": error}}},
        "/api/proposals/{id}": {"get": {
            "summary": "One proposal with all its versions", "operationId": "getProposal",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "The proposal", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ProposalWithVersions"}}}}, "404": error}}},
    }
    schemas = {
        "Proposal": {"type": "object", "required": required, "properties": proposal_props},
        "ProposalVersion": version_schema,
        "RemoteAuthor": REMOTE_AUTHOR_SCHEMA,
        "ProposalWithVersions": {"type": "object", "required": [*required, "versions"], "properties": {
            **proposal_props,
            "versions": {"type": "array", "items": {"$ref": "#/components/schemas/ProposalVersion"}}}},
    }
    comment_paths, comment_schemas = comments.openapi()
    return {**paths, **comment_paths}, {**schemas, **comment_schemas}
