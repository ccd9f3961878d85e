"""Queries both sides share: is this node a partner of that space, under which conditions."""
from __future__ import annotations

from sqlalchemy import select

from node.activitypub.follow_models import RemoteSpace
from node.cohosting.models import Partnership, SpacePartner
from node.verification.service import HANDLER_LABELS


async def active_partner(db, space_id: int, node_uri: str) -> SpacePartner | None:
    """Host side: the active partnership of ``node_uri`` (a node's Application actor) in a space."""
    return await db.scalar(select(SpacePartner).where(SpacePartner.space_id == space_id,
                                                      SpacePartner.node_uri == node_uri,
                                                      SpacePartner.state == "active"))


async def active_partnership(db, space_uri: str) -> Partnership | None:
    """Home side: this node's active partnership in the remote space ``space_uri`` (its Group)."""
    return await db.scalar(select(Partnership).where(Partnership.space_uri == space_uri,
                                                     Partnership.state == "active")
                           .order_by(Partnership.id.desc()).limit(1))


def required_authorisations(conditions: dict | None) -> list[str]:
    """The verification handlers a partnership names (any one suffices; empty: none needed)."""
    names = (conditions or {}).get("authorisations") or []
    return [name for name in names if isinstance(name, str)]


def conditions_labels(conditions: dict | None) -> list[str]:
    """The msgids of the verifications a partnership asks for (an unknown handler: its code)."""
    return [HANDLER_LABELS.get(name, name) for name in required_authorisations(conditions)]


async def active_partners(db, space_id: int) -> list[SpacePartner]:
    """Host side: the nodes co-hosting a space now (its page and its Group's ``partners``)."""
    return list((await db.scalars(select(SpacePartner).where(SpacePartner.space_id == space_id,
                                                             SpacePartner.state == "active")
                                  .order_by(SpacePartner.host))).all())


async def cohosted_spaces(db) -> list[tuple[Partnership, RemoteSpace]]:
    """Home side: the spaces of other nodes this node co-hosts now, with their mirror."""
    return list((await db.execute(select(Partnership, RemoteSpace)
                                  .join(RemoteSpace, RemoteSpace.id == Partnership.remote_space_id)
                                  .where(Partnership.state == "active")
                                  .order_by(RemoteSpace.name))).all())
