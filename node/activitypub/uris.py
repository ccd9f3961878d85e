"""Stable URIs of the node's actors. They are ids other nodes keep forever: never change them."""
from __future__ import annotations


def node_actor(base: str) -> str:
    return f"{base}/actor"


def space_actor(base: str, slug: str) -> str:
    return f"{base}/spaces/{slug}"


def user_actor(base: str, username: str) -> str:
    return f"{base}/users/{username}"


def shared_inbox(base: str) -> str:
    return f"{base}/inbox"
