"""Helpers shared by the proposals tests (this module holds no tests itself)."""
from __future__ import annotations

from node.appkeys import DB, SETTINGS
from node.components.proposals.models import Proposal
from node.components.proposals.service import create_proposal
from node.spaces.models import Component, Space
from node.spaces.service import add_component
from tests.spaces_support import make_space

BODY = "A longer description of what we propose, where, and why it matters."


async def make_component(app, space, **settings) -> Component:
    async with app[DB].begin() as db:
        return await add_component(db, space, "proposals", {"name": {"en": "Proposals", "fr": "Propositions"},
                                                            "settings": settings})


async def space_with_component(app, slug: str = "budget-2027", phases: int = 0, **settings):
    space, phase_rows, _ = await make_space(app, slug, phases=phases)
    component = await make_component(app, space, **settings)
    return space, component, phase_rows


async def make_proposal(app, space: Space, component: Component, author, title: str = "Plant trees on the market square",
                        body: str = BODY, **values) -> Proposal:
    async with app[DB].begin() as db:
        component = await db.get(Component, component.id)
        return await create_proposal(db, space=space, component=component, author=author,
                                     values={"title": title, "body": body, **values},
                                     base_url=app[SETTINGS].base_url)


async def set_settings(app, component: Component, **settings) -> None:
    async with app[DB].begin() as db:
        row = await db.get(Component, component.id)
        row.settings = {**row.settings, **settings}


def proposal_path(space, proposal_id) -> str:
    return f"/spaces/{space.slug}/proposals/{proposal_id}"


def list_path(space, component) -> str:
    return f"/spaces/{space.slug}/c/{component.id}"
