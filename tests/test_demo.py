"""`civicnode demo` data: each node's data seeded on a freshly migrated database, then browsed
like a visitor. The three nodes running together are tested in tests/test_demo_nodes.py."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from node.accounts.models import User
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.components.comments.models import Comment
from node.components.debates.models import Debate
from node.components.proposals.models import Proposal, Support
from node.demo import (
    COLLECTIVE_LOGINS, DEMO_LOGINS, DEMO_NODES, TOWN_LOGINS, seed_collective, seed_demo, seed_town,
)
from node.site import load_node_info
from node.spaces.models import Component, Phase, Space


async def seeded_with(app, seed):
    async with app[DB].begin() as db:
        await seed(db)
    # What a restart would do: the node settings are read at start-up.
    async with app[DB]() as db:
        app[NODE_INFO].update(await load_node_info(db, app[SETTINGS]))


async def seeded(app):
    await seeded_with(app, seed_demo)


async def test_demo_data_renders_in_every_language(web, app):
    await seeded(app)
    async with app[DB]() as db:
        spaces = (await db.scalars(select(Space).order_by(Space.id))).all()
        roles = {u.username: u.role for u in await db.scalars(select(User))}
        phases = (await db.scalars(select(Phase))).all()
        component = await db.scalar(select(Component))
    assert [s.slug for s in spaces] == ["budget-participatif-2027", "conseil-de-quartier"]
    assert all(s.published for s in spaces) and [s.kind for s in spaces] == ["process", "assembly"]
    assert all(set(s.description) == {"fr", "en", "es", "ca"} for s in spaces)
    assert len(phases) == 3 and sum(p.active for p in phases) == 1
    assert roles == {"admin": "admin", "moderation": "moderator", "amelie": "user", "jordi": "user"}
    assert [login[1] for login in DEMO_LOGINS] == ["admin", "moderation", "amelie", "jordi"]

    home = await web.get("/")
    assert "Ville de Démo" in home.text and "Budget participatif 2027" in home.text
    process = await web.get("/spaces/budget-participatif-2027")
    assert process.status == 200 and "Dépôt des projets" in process.text
    assert 'aria-current="step"' in process.text and "Comment ça marche" in process.text
    english = await web.get("/spaces/budget-participatif-2027", headers={"Accept-Language": "en"})
    assert "Participatory budget 2027" in english.text and "Technical review" in english.text
    catalan = await web.get(f"/spaces/budget-participatif-2027/c/{component.id}",
                            headers={"Accept-Language": "ca"})
    assert catalan.status == 200 and "<h1>Com funciona</h1>" in catalan.text
    assert "<h2>Qui hi pot participar?</h2>" in catalan.text
    council = await web.get("/spaces/conseil-de-quartier", headers={"Accept-Language": "es"})
    assert "Consejo de barrio del Centro" in council.text
    assemblies = await web.get("/spaces?kind=assembly")
    assert "Conseil de quartier Centre-Ville" in assemblies.text
    assert "Budget participatif" not in re.sub(r"<header.*?</header>", "", assemblies.text, flags=re.S)


async def test_demo_logins_work_and_the_admin_reaches_the_admin_area(web, app):
    await seeded(app)
    _role, username, password = DEMO_LOGINS[0]
    page = await web.login(username, password)
    assert page.status == 200
    admin = await web.get("/admin")
    assert admin.status == 200 and "<dd>4</dd>" in admin.text and "<dd>3</dd>" in admin.text  # users, phases
    assert (await web.get("/admin/spaces")).status == 200
    for _role, username, password in DEMO_LOGINS[1:]:
        await web.post("/logout", {}, csrf_from_path="/")
        assert (await web.login(username, password)).status == 200
        assert (await web.get("/admin")).status == 403


def test_the_three_demo_nodes_have_their_own_logins():
    assert [node.key for node in DEMO_NODES] == ["city", "town", "collective"]
    assert DEMO_NODES[0].logins is DEMO_LOGINS  # the first node printed stays the city
    usernames = [username for node in DEMO_NODES for _role, username, _password in node.logins]
    assert len(usernames) == len(set(usernames))
    for node in DEMO_NODES:
        assert [role for role, _u, _p in node.logins][0] == "administrator"
        assert any(role == "resident" for role, _u, _p in node.logins)
        assert all(password == f"demo-{username}-2027" for _role, username, password in node.logins)


async def test_the_town_has_proposals_supports_comments_and_a_debate_in_four_languages(web, app):
    await seeded_with(app, seed_town)
    async with app[DB]() as db:
        [space] = (await db.scalars(select(Space))).all()
        roles = {u.username: u.role for u in await db.scalars(select(User))}
        proposals = (await db.scalars(select(Proposal).order_by(Proposal.id))).all()
        supports = await db.scalar(select(func.count()).select_from(Support))
        debate = await db.scalar(select(Debate))
        comments = (await db.scalars(select(Comment))).all()
        components = {c.kind: c.id for c in await db.scalars(select(Component))}
    assert (space.slug, space.kind, space.published) == ("passeig-maritim", "process", True)
    assert set(space.title) == {"fr", "en", "es", "ca"} == set(space.description)
    assert roles == {"ajuntament": "admin", "nuria": "user", "mathieu": "user"}
    assert len(proposals) == 4 and supports == sum(p.support_count for p in proposals) == 6
    assert {c.commentable_type for c in comments} == {"proposal", "debate"}
    assert debate.comments_count == 4 and sum(p.comments_count for p in proposals) == 2

    home = await web.get("/")
    assert "Sant Martí de la Marenda" in home.text and "Reviure el passeig marítim" in home.text
    french = await web.get("/spaces/passeig-maritim", headers={"Accept-Language": "fr"})
    assert "Faire revivre la promenade du bord de mer" in french.text and "Propositions" in french.text
    listing = await web.get(f"/spaces/passeig-maritim/c/{components['proposals']}")
    assert listing.status == 200 and "Ombra i bancs al llarg del passeig" in listing.text
    proposal = await web.get(f"/spaces/passeig-maritim/proposals/{proposals[0].id}")
    assert "pins parasols" in proposal.text
    debate_page = await web.get(f"/spaces/passeig-maritim/c/{components['debates']}/debates/{debate.id}",
                                headers={"Accept-Language": "en"})
    assert "How do we get to the seafront in summer?" in debate_page.text and "Cerbère" in debate_page.text

    for _role, username, password in TOWN_LOGINS:
        assert (await web.login(username, password)).status == 200
        assert (await web.get("/admin")).status == (200 if username == "ajuntament" else 403)
        await web.post("/logout", {}, csrf_from_path="/")


async def test_the_collective_has_an_assembly_with_proposals_and_a_debate(web, app):
    await seeded_with(app, seed_collective)
    async with app[DB]() as db:
        [space] = (await db.scalars(select(Space))).all()
        roles = {u.username: u.role for u in await db.scalars(select(User))}
        proposals = (await db.scalars(select(Proposal))).all()
        debate = await db.scalar(select(Debate))
        components = {c.kind: c.id for c in await db.scalars(select(Component))}
    assert (space.slug, space.kind, space.published) == ("assemblee-velo", "assembly", True)
    assert roles == {"coordination": "admin", "lucie": "user", "samir": "user"}
    assert len(proposals) == 3 and {p.state for p in proposals} >= {"accepted"}
    assert debate.comments_count == 3

    assemblies = await web.get("/spaces?kind=assembly", headers={"Accept-Language": "ca"})
    assert "Assemblea del col·lectiu" in assemblies.text
    listing = await web.get(f"/spaces/assemblee-velo/c/{components['proposals']}")
    assert "Un atelier de réparation vélo chaque samedi" in listing.text
    debates = await web.get(f"/spaces/assemblee-velo/c/{components['debates']}")
    assert "Quelle action pour la fête du vélo en juin ?" in debates.text
    _role, username, password = COLLECTIVE_LOGINS[1]
    assert (await web.login(username, password)).status == 200


async def test_the_city_has_a_verified_group_a_resident_may_publish_for(web, app):
    await seeded(app)
    page = await web.get("/groups/parents_centre")
    assert page.status == 200 and "Parents d&#39;élèves" in page.text
    _role, username, password = next(login for login in DEMO_LOGINS if login[1] == "amelie")
    await web.login(username, password)
    async with app[DB]() as db:
        component = await db.scalar(select(Component).where(Component.kind == "proposals"))
        space = await db.get(Space, component.space_id)
    form = await web.get(f"/spaces/{space.slug}/c/{component.id}/proposals/new")
    assert form.status == 200 and "Parents d&#39;élèves" in form.text  # the "publish as" choice
