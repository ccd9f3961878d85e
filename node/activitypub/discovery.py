"""WebFinger, host-meta, NodeInfo 2.1 and the civicnode JSON-LD context."""
from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select

from federation.nodeinfo import nodeinfo_document, nodeinfo_links
from federation.vocab import JRD_JSON, context_document
from federation.webfinger import WebFingerError, acct_uri, host_meta_xml, parse_acct, webfinger_document
from node import __version__
from node.accounts.models import User
from node.activitypub import uris
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.db.base import utcnow
from node.spaces.models import Space
from node.web.errors import user_error


def _host(base_url: str) -> str:
    return base_url.split("://", 1)[1].split("/", 1)[0].lower()


async def webfinger(request: web.Request) -> web.Response:
    base = request.app[SETTINGS].base_url
    resource = request.query.get("resource", "")
    if not resource:
        raise user_error(400, "Add ?resource=acct:name@host to the address.")
    if resource.startswith(("https://", "http://")):
        name = resource.rstrip("/").rsplit("/", 1)[-1]
        host = _host(resource)
    else:
        try:
            name, host = parse_acct(resource)
        except WebFingerError as exc:
            raise user_error(400, str(exc)) from None
    if host != _host(base):
        raise user_error(404, "This node only answers for its own accounts.")
    name = name.lower()
    async with request.app[DB]() as db:
        # Spaces and users share one namespace (both are actors); creation refuses clashes.
        space = await db.scalar(select(Space).where(Space.slug == name, Space.published.is_(True)))
        user = None if space else await db.scalar(select(User).where(User.username == name))
    if space is not None:
        actor = uris.space_actor(base, space.slug)
    elif user is not None:
        actor = uris.user_actor(base, user.username)
    else:
        raise user_error(404, "No account or space has this name here.")
    document = webfinger_document(acct_uri(name, _host(base)), actor, actor)
    response = web.json_response(document, content_type=JRD_JSON)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


async def host_meta(request: web.Request) -> web.Response:
    return web.Response(text=host_meta_xml(request.app[SETTINGS].base_url),
                        content_type="application/xrd+xml")


async def nodeinfo_well_known(request: web.Request) -> web.Response:
    return web.json_response(nodeinfo_links(request.app[SETTINGS].base_url))


async def nodeinfo(request: web.Request) -> web.Response:
    now = utcnow()
    info = request.app[NODE_INFO]
    async with request.app[DB]() as db:
        total = await db.scalar(select(func.count()).select_from(User))
        month = await db.scalar(select(func.count()).select_from(User)
                                .where(User.last_login_at >= now - timedelta(days=30)))
        halfyear = await db.scalar(select(func.count()).select_from(User)
                                   .where(User.last_login_at >= now - timedelta(days=180)))
        spaces = await db.scalar(select(func.count()).select_from(Space).where(Space.published.is_(True)))
    document = nodeinfo_document(
        "civicnode", __version__, users_total=total, users_active_month=month,
        users_active_halfyear=halfyear, local_posts=spaces,
        open_registrations=bool(info.get("registration_open", True)),
        metadata={"nodeName": info.get("node_name", "")})
    return web.json_response(document, content_type=(
        'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'))


async def namespace(request: web.Request) -> web.Response:
    return web.json_response(context_document(), content_type="application/ld+json")


def setup_routes(app: web.Application) -> None:
    from node.activitypub.actors import node_actor

    app.router.add_get("/.well-known/webfinger", webfinger, name="webfinger")
    app.router.add_get("/.well-known/host-meta", host_meta, name="host_meta")
    app.router.add_get("/.well-known/nodeinfo", nodeinfo_well_known, name="nodeinfo_links")
    app.router.add_get("/nodeinfo/2.1", nodeinfo, name="nodeinfo")
    app.router.add_get("/ns", namespace, name="civicnode_ns")
    app.router.add_get("/actor", node_actor, name="node_actor")
