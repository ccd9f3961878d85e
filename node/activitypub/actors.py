"""Actor documents of the node (Application), spaces (Group) and users (Person).

The ``*_document`` functions build them from the database; a key rotation uses them too, for the
``Update`` it sends (node.activitypub.keys_rotation).
"""
from __future__ import annotations

from aiohttp import web

from node import __version__
from node.accounts.models import User
from node.activitypub import uris
from node.activitypub.negotiation import activity_response
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.i18n import pick
from node.keystore import ed25519_keys, ensure_keys, key_history
from node.spaces.models import Space


async def _actor(db, kind: str, owner: tuple[str, int], actor_id: str, base: str, *, username: str,
                 name: str, summary: str | None, url: str, extra: dict | None = None) -> dict:
    # federation.actors loads the key libraries (cryptography, PyNaCl: ~10 MB); a node that is
    # only browsed never needs them, so they are loaded by the first actor request.
    from federation.actors import build_actor

    history = await key_history(db, *owner)
    if not history or history[-1].revoked_at is not None:  # no active key yet (the newest is the active one)
        await ensure_keys(db, *owner)
        history = await key_history(db, *owner)
    return build_actor(
        kind, id=actor_id, preferred_username=username, name=name, summary=summary,
        inbox=f"{actor_id}/inbox", outbox=f"{actor_id}/outbox", followers=f"{actor_id}/followers",
        shared_inbox=uris.shared_inbox(base), url=url, rsa_public_pem=history[-1].rsa_public_pem,
        ed25519_keys=ed25519_keys(history), extra=extra)


async def node_document(db, base: str, node_name: str) -> dict:
    host = base.split("://", 1)[1]
    return await _actor(
        db, "Application", ("node", 0), uris.node_actor(base), base, username=host, name=node_name,
        summary=None, url=f"{base}/",
        extra={"manuallyApprovesFollowers": True, "software": f"civicnode {__version__}"})


async def space_document(db, base: str, space: Space, default_locale: str) -> dict:
    from node.cohosting.service import active_partners

    actor_id = uris.space_actor(base, space.slug)
    extra = {"federationPolicy": space.federation_policy, "published": space.created_at.isoformat()}
    if space.federation_policy != "local":  # the nodes whose residents may take part (DESIGN §4)
        extra["partners"] = [partner.node_uri for partner in await active_partners(db, space.id)]
    return await _actor(
        db, "Group", ("space", space.id), actor_id, base, username=space.slug,
        name=pick(space.title, default_locale, default_locale),
        summary=pick(space.subtitle, default_locale, default_locale) or None, url=actor_id, extra=extra)


async def user_document(db, base: str, user: User) -> dict:
    actor_id = uris.user_actor(base, user.username)
    return await _actor(
        db, "Person", ("user", user.id), actor_id, base, username=user.username, name=user.nickname,
        summary=user.about or None, url=actor_id, extra={"published": user.created_at.isoformat()})


async def node_actor(request: web.Request) -> web.Response:
    async with request.app[DB].begin() as db:
        doc = await node_document(db, request.app[SETTINGS].base_url,
                                  request.app[NODE_INFO].get("node_name", ""))
    return activity_response(doc)


async def space_actor(request: web.Request, space: Space) -> web.Response:
    """Called by the space page when a server asks for ActivityStreams."""
    default = request.app[NODE_INFO].get("default_locale", "en")
    async with request.app[DB].begin() as db:
        doc = await space_document(db, request.app[SETTINGS].base_url, space, default)
    return activity_response(doc)


async def user_actor(request: web.Request, user: User) -> web.Response:
    """Called by the profile page when a server asks for ActivityStreams."""
    async with request.app[DB].begin() as db:
        doc = await user_document(db, request.app[SETTINGS].base_url, user)
    return activity_response(doc)
