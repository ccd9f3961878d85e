"""Actor documents of the node (Application), spaces (Group) and users (Person)."""
from __future__ import annotations

from aiohttp import web

from node import __version__
from node.accounts.models import User
from node.activitypub import uris
from node.activitypub.negotiation import activity_response
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.i18n import pick
from node.keystore import ensure_keys
from node.spaces.models import Space


def _actor(kind: str, actor_id: str, base: str, *, username: str, name: str, summary: str | None,
           url: str, key, extra: dict | None = None) -> dict:
    # federation.actors loads the key libraries (cryptography, PyNaCl: ~10 MB); a node that is
    # only browsed never needs them, so they are loaded by the first actor request.
    from federation.actors import build_actor

    return build_actor(
        kind, id=actor_id, preferred_username=username, name=name, summary=summary,
        inbox=f"{actor_id}/inbox", outbox=f"{actor_id}/outbox", followers=f"{actor_id}/followers",
        shared_inbox=uris.shared_inbox(base), url=url, rsa_public_pem=key.rsa_public_pem,
        ed25519_multibase=key.ed25519_public_multibase, extra=extra)


async def node_actor(request: web.Request) -> web.Response:
    base = request.app[SETTINGS].base_url
    info = request.app[NODE_INFO]
    async with request.app[DB].begin() as db:
        key = await ensure_keys(db, "node", 0)
    host = base.split("://", 1)[1]
    return activity_response(_actor(
        "Application", uris.node_actor(base), base, username=host, name=info.get("node_name", ""),
        summary=None, url=f"{base}/", key=key,
        extra={"manuallyApprovesFollowers": True, "software": f"civicnode {__version__}"}))


async def space_actor(request: web.Request, space: Space) -> web.Response:
    """Called by the space page when a server asks for ActivityStreams."""
    base = request.app[SETTINGS].base_url
    default = request.app[NODE_INFO].get("default_locale", "en")
    async with request.app[DB].begin() as db:
        key = await ensure_keys(db, "space", space.id)
    actor_id = uris.space_actor(base, space.slug)
    return activity_response(_actor(
        "Group", actor_id, base, username=space.slug, name=pick(space.title, default, default),
        summary=pick(space.subtitle, default, default) or None, url=actor_id, key=key,
        extra={"federationPolicy": space.federation_policy,
               "published": space.created_at.isoformat()}))


async def user_actor(request: web.Request, user: User) -> web.Response:
    """Called by the profile page when a server asks for ActivityStreams."""
    base = request.app[SETTINGS].base_url
    async with request.app[DB].begin() as db:
        key = await ensure_keys(db, "user", user.id)
    actor_id = uris.user_actor(base, user.username)
    return activity_response(_actor(
        "Person", actor_id, base, username=user.username, name=user.nickname,
        summary=user.about or None, url=actor_id, key=key,
        extra={"published": user.created_at.isoformat()}))
