"""Node-wide settings edited on the web (name, description, default language)."""
from __future__ import annotations

import time

from sqlalchemy import select

from node.config import Settings
from node.nodemodels import NodeSetting

REFRESH_SECONDS = 30.0
EDITABLE = ("node_name", "description", "default_locale", "registration_open", "contact_email")


def defaults(settings: Settings) -> dict:
    return {
        "node_name": settings.node_name,
        "description": {},
        "default_locale": settings.default_locale,
        "registration_open": settings.registration_open,
        "contact_email": "",
    }


async def load_node_info(db, settings: Settings) -> dict:
    info = defaults(settings)
    for row in await db.scalars(select(NodeSetting).where(NodeSetting.key.in_(EDITABLE))):
        info[row.key] = row.value
    return info


async def save_node_info(db, changes: dict) -> None:
    for key, value in changes.items():
        if key not in EDITABLE:
            raise KeyError(key)
        row = await db.get(NodeSetting, key)
        if row is None:
            db.add(NodeSetting(key=key, value=value))
        else:
            row.value = value


async def refresh_node_info(app, *, force: bool = False) -> None:
    """Re-read the editable settings when the cached copy is older than REFRESH_SECONDS, so that
    every `civicnode serve` process of a node converges on an admin's change."""
    from node.appkeys import DB, NODE_INFO, NODE_INFO_LOADED, SETTINGS

    stamp = app[NODE_INFO_LOADED]
    now = time.monotonic()
    if not force and now - stamp.get("at", -REFRESH_SECONDS) < REFRESH_SECONDS:
        return
    stamp["at"] = now
    async with app[DB]() as db:
        app[NODE_INFO].update(await load_node_info(db, app[SETTINGS]))
