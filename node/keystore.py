"""The node's actor keys in the database (generated with federation.keys)."""
from __future__ import annotations

from sqlalchemy import select

from federation.keys import NodeKeys
from node.nodemodels import ActorKey


async def active_key(db, owner_type: str, owner_id: int = 0) -> ActorKey | None:
    return await db.scalar(
        select(ActorKey)
        .where(ActorKey.owner_type == owner_type, ActorKey.owner_id == owner_id, ActorKey.revoked_at.is_(None))
        .order_by(ActorKey.id.desc())
        .limit(1)
    )


async def ensure_node_keys(db) -> ActorKey:
    """The node actor's key pair, created on first call (at `civicnode init`)."""
    existing = await active_key(db, "node")
    if existing is not None:
        return existing
    keys = NodeKeys.generate()
    row = ActorKey(owner_type="node", owner_id=0, rsa_private_pem=keys.rsa_private_pem,
                   rsa_public_pem=keys.rsa_public_pem, ed25519_seed_hex=keys.ed25519_seed_hex,
                   ed25519_public_multibase=keys.ed25519_public_multibase)
    db.add(row)
    await db.flush()
    return row
