"""Support counts per origin node: the host's own residents and each partner node's.

Only counted supports (node.components.proposals.supports: a person below the component's
minimum is not counted yet), so that the per-node figures add up to the published total."""
from __future__ import annotations

from sqlalchemy import func, select

from node.cohosting.models import RemoteParticipant
from node.components.proposals.models import Support


async def supports_by_origin(db, proposal_ids: list[int], local_host: str) -> dict[int, dict[str, int]]:
    """{proposal id: {host: counted supports}}, this node's residents under ``local_host``; hosts
    in order of decreasing count. Proposals without supports are left out."""
    if not proposal_ids:
        return {}
    rows = (await db.execute(
        select(Support.proposal_id, RemoteParticipant.home_host, func.count())
        .outerjoin(RemoteParticipant, Support.participant_id == RemoteParticipant.id)
        .where(Support.proposal_id.in_(proposal_ids), Support.counted.is_(True))
        .group_by(Support.proposal_id, RemoteParticipant.home_host))).all()
    found: dict[int, dict[str, int]] = {}
    for proposal_id, host, number in rows:
        found.setdefault(proposal_id, {})[host or local_host] = number
    return {pid: dict(sorted(hosts.items(), key=lambda pair: (-pair[1], pair[0]))) for pid, hosts in found.items()}


async def informal_counts(db, proposal_ids: list[int]) -> dict[int, int]:
    """{proposal id: informal supports} (an ``open`` space's non-partner followers)."""
    from node.cohosting.models import InformalSupport

    if not proposal_ids:
        return {}
    rows = await db.execute(select(InformalSupport.proposal_id, func.count())
                            .where(InformalSupport.proposal_id.in_(proposal_ids))
                            .group_by(InformalSupport.proposal_id))
    return dict(rows.all())
