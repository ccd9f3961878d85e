"""Helpers shared by the spaces, admin and demo tests (this module holds no tests itself)."""
from __future__ import annotations

import pytest_asyncio
from sqlalchemy import func, select

from node.accounts.service import create_user
from node.appkeys import DB, NODE_INFO
from node.spaces.service import add_component, add_phase, create_space

PASSWORD = "correct horse battery"


async def make_user(app, username: str, role: str = "user"):
    async with app[DB].begin() as db:
        return await create_user(db, username=username, email=f"{username}@example.org",
                                 password=PASSWORD, nickname=username.title(), role=role)


async def log_in(web, app, username: str, role: str = "user"):
    user = await make_user(app, username, role)
    page = await web.login(username, PASSWORD)
    assert page.status == 200, page.text[:500]
    return user


async def stop_background_work(app) -> None:
    """The event publisher, the notifier and the delivery worker query the app's engine on their
    own: tests that count a page's SQL statements stop them first (their statements are not the
    page's)."""
    from node.activitypub.publisher import PUBLISHER
    from node.activitypub.worker import DELIVERY
    from node.notifications.notifier import NOTIFIER

    await app[PUBLISHER]["publisher"].stop()
    await app[NOTIFIER]["notifier"].stop()
    worker = app[DELIVERY].get("worker") if DELIVERY in app else None
    if worker is not None:
        await worker.stop()


async def count(app, model, *where) -> int:
    async with app[DB]() as db:
        return await db.scalar(select(func.count()).select_from(model).where(*where))


async def make_space(app, slug: str = "budget-2027", *, published: bool = True, kind: str = "process",
                     title: dict | None = None, phases: int = 0, page_body: dict | None = None):
    default = app[NODE_INFO].get("default_locale", "en")
    async with app[DB].begin() as db:
        space = await create_space(db, {
            "slug": slug, "kind": kind, "published": published,
            "title": title or {default: f"Space {slug}", "fr": f"Espace {slug}"},
            "subtitle": {"en": "A subtitle"}, "description": {"en": "First paragraph.\n\nSecond one."},
        }, default_locale=default)
        phase_rows = [await add_phase(db, space, {"title": {"en": f"Phase number {n}"},
                                                  "start_date": f"2027-0{n}-01", "end_date": f"2027-0{n}-28"})
                      for n in range(1, phases + 1)]
        component = None
        if page_body is not None:
            component = await add_component(db, space, "pages", {
                "name": {"en": "How it works", "fr": "Comment ça marche"}, "settings": {"body": page_body}})
    return space, phase_rows, component


@pytest_asyncio.fixture
async def admin_web(web, app):
    """`web`, logged in as an administrator."""
    await log_in(web, app, "alice_admin", role="admin")
    return web
