"""Discovery and actor documents, checked with the protocol library's own remote-actor parser
(the same checks a peer applies) and over real HTTP."""
from __future__ import annotations

import json

from federation.actors import parse_remote_actor
from federation.keys import load_rsa_public_key
from federation.nodeinfo import validate_nodeinfo
from federation.webfinger import actor_url_from_jrd
from tests.spaces_support import make_space, make_user

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}


def host_of(web) -> str:
    return web.base.split("://", 1)[1]


async def test_webfinger_finds_users_and_spaces(web, app):
    await make_user(app, "amelie")
    await make_space(app, "budget-2027")
    for name, path in (("amelie", "/users/amelie"), ("budget-2027", "/spaces/budget-2027")):
        page = await web.get(f"/.well-known/webfinger?resource=acct:{name}@{host_of(web)}")
        assert page.status == 200 and page.headers["Content-Type"].startswith("application/jrd+json")
        jrd = json.loads(page.text)
        assert jrd["subject"] == f"acct:{name}@{host_of(web)}"
        assert actor_url_from_jrd(jrd) == web.base + path


async def test_webfinger_refuses_other_hosts_unknown_names_and_garbage(web, app):
    await make_user(app, "amelie")
    assert (await web.get("/.well-known/webfinger?resource=acct:amelie@elsewhere.example")).status == 404
    assert (await web.get(f"/.well-known/webfinger?resource=acct:nobody@{host_of(web)}")).status == 404
    assert (await web.get("/.well-known/webfinger")).status == 400
    assert (await web.get("/.well-known/webfinger?resource=not-an-account")).status == 400


async def test_unpublished_space_is_not_discoverable(web, app):
    await make_space(app, "draft-space", published=False)
    page = await web.get(f"/.well-known/webfinger?resource=acct:draft-space@{host_of(web)}")
    assert page.status == 404


async def test_actor_documents_pass_a_peers_checks(web, app):
    await make_user(app, "amelie")
    await make_space(app, "budget-2027")
    for path, kind in (("/users/amelie", "Person"), ("/spaces/budget-2027", "Group"), ("/actor", "Application")):
        for headers in (AP, LD):
            page = await web.get(path, headers=headers)
            assert page.status == 200, path
            assert page.headers["Content-Type"].startswith("application/activity+json")
            assert "Accept" in page.headers.get("Vary", "")
            document = json.loads(page.text)
            actor = parse_remote_actor(document, web.base + path)
            assert actor.kind == kind and actor.id == web.base + path
            assert actor.shared_inbox == web.base + "/inbox"
            load_rsa_public_key(actor.public_key_pem)
            assert list(actor.multikeys.values())[0].startswith("z6Mk")


async def test_actor_keys_are_stable_between_requests(web, app):
    await make_user(app, "amelie")
    first = json.loads((await web.get("/users/amelie", headers=AP)).text)
    second = json.loads((await web.get("/users/amelie", headers=AP)).text)
    assert first["publicKey"] == second["publicKey"]
    assert first["assertionMethod"] == second["assertionMethod"]


async def test_browsers_still_get_html(web, app):
    await make_user(app, "amelie")
    page = await web.get("/users/amelie", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")


async def test_nodeinfo_is_valid_2_1(web, app):
    await make_user(app, "amelie")
    links = json.loads((await web.get("/.well-known/nodeinfo")).text)
    href = links["links"][0]["href"]
    assert href == web.base + "/nodeinfo/2.1"
    document = json.loads((await web.get("/nodeinfo/2.1")).text)
    assert validate_nodeinfo(document) == []
    assert document["software"]["name"] == "civicnode"
    assert document["usage"]["users"]["total"] == 1


async def test_host_meta_and_context(web):
    host_meta = await web.get("/.well-known/host-meta")
    assert host_meta.status == 200 and "/.well-known/webfinger?resource={uri}" in host_meta.text
    context = json.loads((await web.get("/ns")).text)
    assert "@context" in context


async def test_users_and_spaces_cannot_share_a_name(app):
    from node.accounts.service import AccountError, create_user
    from node.appkeys import DB
    from node.spaces.service import SpaceError, create_space

    await make_user(app, "collectif")
    await make_space(app, "quartier")
    async with app[DB].begin() as db:
        try:
            await create_space(db, {"slug": "collectif", "kind": "process", "title": {"en": "Collectif"}},
                               default_locale="en")
        except SpaceError as exc:
            assert "already uses this name" in exc.errors["slug"]
        else:
            raise AssertionError("a space took a member's name")
    async with app[DB].begin() as db:
        try:
            await create_user(db, username="quartier", email="q@example.org", password="long enough pw")
        except AccountError as exc:
            assert exc.errors == {"username": "This name is already taken; choose another one."}
        else:
            raise AssertionError("a member took a space's name")
