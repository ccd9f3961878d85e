"""Activities a node actor addressed to other nodes, served at their ids to those nodes only.

The partnership activities (docs/FEDERATION.md, "Partnerships": the Invite and Remove a host's
node actor sends, the Accept, Reject, Leave, Follow and Undo{Follow} of a partner's) and the
Flags of federated moderation ("Reports") are addressed to named actors and are between nodes'
administrators: like the Follows and Accepts node.activitypub.objects never shows, they are not
public. A node the activity was addressed to reads it, as it was delivered (the outbox keeps each
body), with a signed fetch (an HTTP signature by any of its actors, checked as the inbox checks a
delivery); any other request gets 401 when unsigned (whatever the id: nothing is said about which
exist) and 404 otherwise. A browser gets 406: these ids have no page.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from node.activitypub.delivery_models import OutboxActivity
from node.activitypub.negotiation import activity_response, wants_activity_json
from node.appkeys import DB, SETTINGS
from node.i18n import N_

log = logging.getLogger("civicnode.activitypub")

PARTNERSHIP_TYPES = ("Invite", "Remove", "Accept", "Reject", "Leave", "Follow", "Undo")
FLAG_TYPES = ("Flag",)


def _host(uri) -> str:
    return urlsplit(uri).netloc.lower() if isinstance(uri, str) else ""


def addressed_hosts(activity: dict) -> set[str]:
    to = activity.get("to")
    return {_host(value) for value in (to if isinstance(to, list) else [to])} - {""}


async def signer_host(request: web.Request) -> str | None:
    """The host of the actor whose HTTP signature this request carries, once checked; None when
    it carries none, or one that does not verify (the key re-fetched once, for a rotation)."""
    from federation.actors import ActorError
    from federation.fetch import FetchError
    from federation.signatures import SignatureError, signature_key_id, verify_request
    from node.activitypub.inbox import remote_actors

    key_id = signature_key_id(request.headers)
    if not key_id:
        return None
    base = urlsplit(request.app[SETTINGS].base_url)
    actors = remote_actors(request.app)
    refresh = False
    while True:
        try:
            resolved = await actors.resolve(key_id, refresh=refresh)
            actor = resolved.actor
            if not actor.owns_key(key_id):
                raise SignatureError(f"{actor.id} does not publish the key {key_id}", "unknown_key")
            verify_request("GET", request.path_qs, request.headers, None, lambda _k: actor.public_key_pem,
                           scheme=base.scheme, host=base.netloc)
            return _host(actor.id)
        except SignatureError as exc:
            if not refresh and not resolved.fresh and exc.code in ("bad_signature", "unknown_key"):
                refresh = True  # a rotated key: read the actor again, once
                continue
            log.info("signed fetch of %s refused: %s", request.path, exc)
            return None
        except (FetchError, ActorError) as exc:
            log.info("signed fetch of %s: the key %s could not be read: %s", request.path, key_id, exc)
            return None


async def partnership_activity(request: web.Request) -> web.Response:
    return await addressed_activity(request, PARTNERSHIP_TYPES)


async def flag_activity(request: web.Request) -> web.Response:
    return await addressed_activity(request, FLAG_TYPES)


async def addressed_activity(request: web.Request, types: tuple[str, ...]) -> web.Response:
    """The node actor's activity of one of ``types`` at this request's address, for its addressees."""
    if not wants_activity_json(request):
        exc = web.HTTPNotAcceptable()
        exc.user_message = N_("This address is an ActivityPub activity, which other servers read; it has no "
                              "page to show.")
        raise exc
    host = await signer_host(request)
    if host is None:
        return activity_response({"error": "Sign this request (HTTP signature) as one of the nodes the "
                                           "activity was addressed to."}, status=401)
    uri = request.app[SETTINGS].base_url + request.path
    async with request.app[DB]() as db:
        row = await db.scalar(select(OutboxActivity).where(
            OutboxActivity.activity_uri == uri, OutboxActivity.actor_type == "node",
            OutboxActivity.activity_type.in_(types)))
    if row is None or host not in addressed_hosts(row.body):
        return activity_response({"error": "No activity this node sent to you has this id."}, status=404)
    return activity_response(row.body)
