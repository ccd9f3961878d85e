"""Actor keys in the database (generated with federation.keys).

The node actor's keys are made at `civicnode init`; a space's or a user's on first need (the
first time its actor document is asked for, or it signs something), so that registering an
account does not pay for an RSA key generation.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from node.nodemodels import ActorKey


async def active_key(db, owner_type: str, owner_id: int = 0) -> ActorKey | None:
    return await db.scalar(
        select(ActorKey)
        .where(ActorKey.owner_type == owner_type, ActorKey.owner_id == owner_id, ActorKey.revoked_at.is_(None))
        .order_by(ActorKey.id.desc())
        .limit(1)
    )


async def ensure_keys(db, owner_type: str, owner_id: int = 0) -> ActorKey:
    """The owner's active key pair, created if it has none (inside the caller's transaction)."""
    existing = await active_key(db, owner_type, owner_id)
    if existing is not None:
        return existing
    from federation.keys import NodeKeys  # cryptography is loaded only when keys are needed

    keys = NodeKeys.generate()
    row = ActorKey(owner_type=owner_type, owner_id=owner_id, rsa_private_pem=keys.rsa_private_pem,
                   rsa_public_pem=keys.rsa_public_pem, ed25519_seed_hex=keys.ed25519_seed_hex,
                   ed25519_public_multibase=keys.ed25519_public_multibase)
    try:
        async with db.begin_nested():
            db.add(row)
    except IntegrityError:
        # Two first requests raced; the other one's keys won.
        return await active_key(db, owner_type, owner_id)
    return row


async def ensure_node_keys(db) -> ActorKey:
    return await ensure_keys(db, "node", 0)
