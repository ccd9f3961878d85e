"""The node's verification key: a random secret, created at first use and kept in node_settings
(never shown), that keys the HMAC of every verified identity (census lines, mailboxes).

A plain hash of a census line could be reversed by trying every document number; a keyed one
cannot without the key, which never leaves the database."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.exc import IntegrityError

from node.nodemodels import NodeSetting

KEY_SETTING = "verification_key"


async def ensure_key(sessionmaker) -> None:
    """Create the key if the node has none; called in its own transaction, before the work
    that needs it, so that two first uses racing agree on one key (the primary key decides)."""
    async with sessionmaker() as db:
        if await db.get(NodeSetting, KEY_SETTING) is not None:
            return
    try:
        async with sessionmaker.begin() as db:
            db.add(NodeSetting(key=KEY_SETTING, value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another request created it first: theirs is the key


async def node_key(db) -> bytes:
    row = await db.get(NodeSetting, KEY_SETTING)
    if row is None:
        raise RuntimeError("the verification key is missing: call ensure_key() first")
    return bytes.fromhex(row.value)


def keyed_digest(key: bytes, purpose: str, identity: str) -> str:
    # The purpose keeps a census line and a mailbox that happen to be equal strings apart.
    return hmac.new(key, f"{purpose}:{identity}".encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Confirmation links are random; storing only their SHA-256 means a database leak cannot
    confirm anything."""
    return hashlib.sha256(token.encode()).hexdigest()
