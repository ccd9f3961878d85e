"""Actor keys in the database (generated with federation.keys).

The node actor's keys are made at `civicnode init`; a space's or a user's on first need (the
first time its actor document is asked for, or it signs something), so that registering an
account does not pay for an RSA key generation.

Rotation (`civicnode keys rotate`) revokes the active pair and creates a new one in one
transaction.  Rows are never deleted: an owner's keys, in id order, are its key history.  The
n-th Ed25519 key of an owner (1-based, in that order) is the verification method
``actor + federation.actors.ed25519_key_fragment(n)``: ``#ed25519-key`` for the first, which
proofs made before any rotation name, then ``#ed25519-key-2``…  The number is derived from the
rows rather than stored, which is stable because rows are only ever added (one at a time per
owner: the partial unique index refuses a second active key).
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from node.db.base import utcnow
from node.nodemodels import ActorKey

OWNER_TYPES = ("node", "space", "user")


async def active_key(db, owner_type: str, owner_id: int = 0) -> ActorKey | None:
    return await db.scalar(
        select(ActorKey)
        .where(ActorKey.owner_type == owner_type, ActorKey.owner_id == owner_id, ActorKey.revoked_at.is_(None))
        .order_by(ActorKey.id.desc())
        .limit(1)
    )


def _new_key(owner_type: str, owner_id: int) -> ActorKey:
    from federation.keys import NodeKeys  # cryptography is loaded only when keys are needed

    keys = NodeKeys.generate()
    return ActorKey(owner_type=owner_type, owner_id=owner_id, rsa_private_pem=keys.rsa_private_pem,
                    rsa_public_pem=keys.rsa_public_pem, ed25519_seed_hex=keys.ed25519_seed_hex,
                    ed25519_public_multibase=keys.ed25519_public_multibase)


async def ensure_keys(db, owner_type: str, owner_id: int = 0) -> ActorKey:
    """The owner's active key pair, created if it has none (inside the caller's transaction)."""
    existing = await active_key(db, owner_type, owner_id)
    if existing is not None:
        return existing
    row = _new_key(owner_type, owner_id)
    try:
        async with db.begin_nested():
            db.add(row)
    except IntegrityError:
        # Two first requests raced; the other one's keys won.
        return await active_key(db, owner_type, owner_id)
    return row


async def ensure_node_keys(db) -> ActorKey:
    return await ensure_keys(db, "node", 0)


async def key_history(db, owner_type: str, owner_id: int = 0) -> list[ActorKey]:
    """Every key pair the owner has had, oldest first (the active one last)."""
    return list(await db.scalars(select(ActorKey).where(ActorKey.owner_type == owner_type,
                                                        ActorKey.owner_id == owner_id)
                                 .order_by(ActorKey.id)))


def ed25519_keys(history: list[ActorKey]) -> list:
    """The Ed25519 keys to publish in the actor's ``assertionMethod`` (federation.actors.Ed25519Key):
    the active one first, since simple consumers take the first entry, then the revoked ones,
    newest first."""
    from federation.actors import Ed25519Key, ed25519_key_fragment

    keys = [Ed25519Key(ed25519_key_fragment(number), row.ed25519_public_multibase, row.revoked_at)
            for number, row in enumerate(history, start=1)]
    return sorted(reversed(keys), key=lambda key: key.revoked is not None)


async def verification_method(actor_uri: str, key: ActorKey, db) -> str:
    """The FEP-8b32 verificationMethod id of ``key``, the Ed25519 key its proofs are made with."""
    from federation.actors import ed25519_key_fragment

    older = await db.scalar(select(func.count()).select_from(ActorKey).where(
        ActorKey.owner_type == key.owner_type, ActorKey.owner_id == key.owner_id, ActorKey.id < key.id))
    return actor_uri + ed25519_key_fragment(older + 1)


class RotationConflict(RuntimeError):
    """Another rotation of the same keys committed first."""


async def rotate_keys(db, owner_type: str, owner_id: int = 0) -> tuple[ActorKey | None, ActorKey]:
    """Revoke the owner's active key pair (if any) and create a new one, in the caller's
    transaction; returns (revoked, new).  Of two rotations racing, the second one fails
    (RotationConflict, or IntegrityError from the one-active-key index) and is rolled back whole."""
    if owner_type not in OWNER_TYPES:
        raise ValueError(f"owner_type must be one of {', '.join(OWNER_TYPES)}")
    old = await active_key(db, owner_type, owner_id)
    if old is not None:
        # A conditional UPDATE rather than setting the attribute: on PostgreSQL a concurrent
        # rotation waits for this row's lock, then finds it already revoked.
        table = ActorKey.__table__
        revoked_at = (await db.execute(
            update(table).where(table.c.id == old.id, table.c.revoked_at.is_(None))
            .values(revoked_at=utcnow()).returning(table.c.revoked_at))).scalar_one_or_none()
        if revoked_at is None:
            raise RotationConflict("these keys were rotated by someone else meanwhile; try again")
        set_committed_value(old, "revoked_at", revoked_at)
    new = _new_key(owner_type, owner_id)
    db.add(new)
    await db.flush()
    return old, new
