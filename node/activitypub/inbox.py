"""The node's inboxes: POST /inbox (shared) and POST {actor}/inbox for the node, spaces and users.

The checks are federation.inbox.InboxPipeline's (see docs/FEDERATION.md, "Inbox"); this module
supplies what needs the node: remote actors (memory + `remote_actors` + SafeFetcher), instance
policy, and storage in `inbox_activities`.

Components react to activities through the handler registry:

    from node.activitypub.inbox import register_inbox_handler

    async def on_create(ctx: InboxContext, activity: dict, actor: RemoteActor) -> None: ...
    register_inbox_handler(app, "Create", on_create)      # in the component's setup_routes

``ctx.app`` is the application (database: ``ctx.app[DB]``), ``ctx.recipient`` the local actor
whose inbox received it (None for the shared inbox); ``activity`` is the checked JSON and
``actor`` the verified author (federation.actors.RemoteActor).  Handlers of one type run in
registration order and each must ignore what is not its business (check the object's type).
A handler that raises marks the stored activity ``failed``; the sender still gets 202.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select, update

from node.accounts.models import User
from node.activitypub import uris
from node.activitypub.group_insert import GroupInsert
from node.activitypub.models import InboxActivity
from node.activitypub.policy import InstancePolicies
from node.appkeys import DB, ENGINE, SETTINGS
from node.db.base import utcnow
from node.db.writes import begin_writing
from node.spaces.models import Space
from node.web.context import server_to_server
from node.web.csrf import csrf_exempt

if TYPE_CHECKING:
    from federation.inbox import Handler, InboxPipeline, Received

log = logging.getLogger("civicnode.inbox")

# What the inbox keeps on the app.  The pipeline itself (signatures, proofs, the fetcher: httpsig,
# http-message-signatures, rfc8785) is built at the first inbox POST, so that an idle node does
# not carry those modules (the idle-memory goal, docs/ARCHITECTURE.md).
HANDLERS = web.AppKey("inbox_handlers", dict)  # activity type -> [handler]
POLICIES = web.AppKey("instance_policies", InstancePolicies)
_STATE = web.AppKey("inbox_state", dict)  # {"pipeline": InboxPipeline, "actors": RemoteActors}


@dataclass(frozen=True)
class InboxContext:
    app: web.Application
    recipient: str | None  # the local actor's id; None for the shared inbox


def register_inbox_handler(app: web.Application, activity_type: str, handler: Handler) -> None:
    """Call ``handler(ctx, activity, actor)`` for every new (not replayed) activity of this type.
    Register while the app is being set up (a component's setup_routes)."""
    if HANDLERS not in app:
        app[HANDLERS] = {}
    app[HANDLERS].setdefault(activity_type, []).append(handler)


def inbox_pipeline(app: web.Application) -> InboxPipeline:
    """The app's pipeline, built on first use."""
    state = app[_STATE]
    if "pipeline" not in state:
        _build(app, state)
    return state["pipeline"]


def remote_actors(app: web.Application):
    """The remote-actor resolver (node.activitypub.remote_actors.RemoteActors)."""
    inbox_pipeline(app)
    return app[_STATE]["actors"]


def _build(app: web.Application, state: dict[str, Any]) -> None:
    from federation.fetch import SafeFetcher, Signer
    from federation.inbox import InboxLimits, InboxPipeline
    from node.activitypub.remote_actors import RemoteActors

    settings, engine = app[SETTINGS], app[ENGINE]

    async def node_signer() -> Signer:
        from node.keystore import ensure_node_keys

        async with app[DB].begin() as db:
            key = await ensure_node_keys(db)
        return Signer(uris.node_actor(settings.base_url) + "#main-key", key.rsa_private_pem)

    fetcher = SafeFetcher(allow_private=settings.allow_private_addresses, user_agent="civicnode")
    actors = RemoteActors(engine, fetcher, node_signer)

    group = GroupInsert(engine)

    async def store(received: Received, ctx: InboxContext) -> bool:
        now = utcnow()
        return await group.insert(dict(
            activity_id=received.activity_id, actor=received.actor, type=received.type[:64],
            recipient=ctx.recipient if ctx else None, key_id=received.key_id[:2048],
            body=received.activity, status=received.status, error=None, received_at=now,
            processed_at=now if received.status != "received" else None))

    async def finish(activity_id: str, status: str, error: str | None) -> None:
        async with begin_writing(engine) as conn:
            await conn.execute(update(InboxActivity).where(InboxActivity.activity_id == activity_id)
                               .values(status=status, error=error, processed_at=utcnow()))

    if HANDLERS not in app:
        app[HANDLERS] = {}
    state["actors"] = actors
    state["group"] = group
    state["pipeline"] = InboxPipeline(
        resolve_actor=actors.resolve, store=store, finish=finish, host_refusal=app[POLICIES].refusal,
        limits=InboxLimits(max_body_bytes=settings.max_body_bytes), handlers=app[HANDLERS])


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None past ``limit`` bytes: read in chunks, never buffered beyond the limit."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def _recipient(request: web.Request) -> str | None:
    base, route = request.app[SETTINGS].base_url, request.match_info.route.name
    if route == "shared_inbox":
        return None
    if route == "node_inbox":
        return uris.node_actor(base)
    name = request.match_info["name"]
    async with request.app[DB]() as db:
        if route == "space_inbox":
            found = await db.scalar(select(Space.id).where(Space.slug == name, Space.published.is_(True)))
            actor = uris.space_actor(base, name)
        else:
            found = await db.scalar(select(User.id).where(User.username == name))
            actor = uris.user_actor(base, name)
    if found is None:
        raise web.HTTPNotFound(reason="No actor has this inbox here")
    return actor


def _answer(status: int, payload: dict) -> web.Response:
    response = web.json_response(payload, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Signature realm="inbox"'
    return response


@server_to_server
@csrf_exempt
async def inbox_post(request: web.Request) -> web.Response:
    pipeline = inbox_pipeline(request.app)
    recipient = await _recipient(request)
    body = await _read_body(request, pipeline.limits.max_body_bytes)
    if body is None:
        return _answer(413, {"status": 413, "code": "too_large", "activity": None,
                             "reason": f"The body is larger than {pipeline.limits.max_body_bytes} bytes"})
    base = request.app[SETTINGS].base_url
    scheme, _, host = base.partition("://")
    result = await pipeline.process(request.method, request.path_qs, request.headers, body,
                                    scheme=scheme or request.scheme, host=host or None,
                                    context=InboxContext(request.app, recipient))
    if not result.accepted:
        log.info("inbox refused a POST (%s %s): %s", result.status, result.code, result.reason)
    elif result.code != "duplicate" and result.activity_id:
        await _host_is_alive(request.app, result.activity_id)
    return _answer(result.status, result.as_json())


ALIVE_CHECK_SECONDS = 60.0


async def _host_is_alive(app: web.Application, activity_id: str) -> None:
    """A host that talks to us is up: resume deliveries we had paused or given up on. Checked
    at most once a minute per host, so that a busy inbox does not pay a query per activity."""
    # Throttled on the id's own spelling of its host: parsing every id would cost more.
    netloc = activity_id.partition("://")[2].partition("/")[0]
    checked = app[_STATE].setdefault("alive_checked", {})
    now = time.monotonic()
    if now - checked.get(netloc, -ALIVE_CHECK_SECONDS) < ALIVE_CHECK_SECONDS:
        return
    checked[netloc] = now
    from node.activitypub.delivery import mark_host_alive
    from node.activitypub.outbox import host_of

    async with app[DB].begin() as db:
        await mark_host_alive(db, host_of(activity_id))


def setup_routes(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[_STATE] = {}
    app[POLICIES] = InstancePolicies(app[ENGINE], settings.federation_mode)
    if HANDLERS not in app:
        app[HANDLERS] = {}

    async def close(app: web.Application) -> None:
        if "actors" in app[_STATE]:
            await app[_STATE]["actors"].close()
        if "group" in app[_STATE]:
            await app[_STATE]["group"].close()

    app.on_cleanup.append(close)
    app.router.add_post("/inbox", inbox_post, name="shared_inbox")
    app.router.add_post("/actor/inbox", inbox_post, name="node_inbox")
    app.router.add_post("/spaces/{name}/inbox", inbox_post, name="space_inbox")
    app.router.add_post("/users/{name}/inbox", inbox_post, name="user_inbox")
