"""`civicnode demo` data: seeded on a freshly migrated database, then browsed like a visitor."""
from __future__ import annotations

import re

from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, NODE_INFO, SETTINGS
from node.demo import DEMO_LOGINS, seed_demo
from node.site import load_node_info
from node.spaces.models import Component, Phase, Space


async def seeded(app):
    async with app[DB].begin() as db:
        await seed_demo(db)
    # What a restart would do: the node settings are read at start-up.
    async with app[DB]() as db:
        app[NODE_INFO].update(await load_node_info(db, app[SETTINGS]))


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
