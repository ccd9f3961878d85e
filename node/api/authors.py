"""How a partner node's resident (node.cohosting.models.RemoteParticipant) is named outside the
pages: in the public API and open-data exports, and in notifications ("Name (home host)", as the
pages show them). Local authors keep their own shapes; this one says ``remote: true`` so that a
reader never takes a resident of another node for one of this node's accounts."""
from __future__ import annotations

REMOTE_AUTHOR_SCHEMA = {
    "type": "object", "required": ["id", "name", "node", "remote"],
    "description": "A resident of a partner node who took part from their own node (co-hosted spaces).",
    "properties": {
        "id": {"type": "string", "format": "uri", "description": "Their actor URI on their home node."},
        "name": {"type": "string", "description": "Their name as their actor document gave it."},
        "node": {"type": "string", "description": "Host name of their home node."},
        "remote": {"type": "boolean", "const": True}}}
REMOTE_AUTHOR_REF = {"$ref": "#/components/schemas/RemoteAuthor"}


def remote_name(actor_uri: str, name: str | None) -> str:
    """Their name, or the last part of their actor URI when their actor gave none (as the pages)."""
    return (name or "").strip() or actor_uri.rstrip("/").rsplit("/", 1)[-1]


def remote_author_json(actor_uri: str | None, name: str | None, host: str | None) -> dict | None:
    if not actor_uri:
        return None
    return {"id": actor_uri, "name": remote_name(actor_uri, name), "node": host or "", "remote": True}


def remote_label(actor_uri: str, name: str | None, host: str | None) -> str:
    """"Ana (town.example)": plain text, escaped where it is shown."""
    return f"{remote_name(actor_uri, name)} ({host})" if host else remote_name(actor_uri, name)
