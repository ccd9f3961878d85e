"""Wiring of following, both sides: the Group's Follow/Undo handling and collections
(follows.py), the event publisher (publisher.py), the follower side's mirror and pages
(mirror.py, mirror_views.py), objects and sent activities at their ids (objects.py).

Handlers are registered as thin wrappers that import their module on first use: a node nobody
follows, and that follows nobody, never loads the federation mapping (the idle-memory goal,
docs/ARCHITECTURE.md).
"""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.activitypub.publisher import setup_publisher
from node.web.lazy import lazy


def _lazy(module: str, name: str):
    return lazy(f"node.activitypub.{module}", name)


def setup_routes(app: web.Application) -> None:
    for activity_type, module, name in (("Follow", "follows", "on_follow"), ("Undo", "follows", "on_undo"),
                                        ("Accept", "mirror", "on_accept"), ("Reject", "mirror", "on_reject"),
                                        ("Announce", "mirror", "on_announce"),
                                        ("Update", "keys_rotation", "on_actor_update")):
        register_inbox_handler(app, activity_type, _lazy(module, name))
    router = app.router
    router.add_get("/spaces/{slug}/followers", _lazy("follows", "followers_collection"), name="space_followers")
    router.add_get("/spaces/{slug}/outbox", _lazy("follows", "outbox_collection"), name="space_outbox")
    router.add_get("/comments/{comment_id:\\d+}", _lazy("objects", "comment"), name="comment")
    # Activities sent by this node, at their ids (ids minted by publisher.activity_ids and
    # space_updates.actor_update_id).
    sent = _lazy("objects", "activity")
    router.add_get("/activities/{event_id:\\d{1,10}}", sent, name="activity")
    router.add_get("/activities/{event_id:\\d{1,10}}/{relay:announce|boost}", sent, name="activity_relay")
    router.add_get("/spaces/{slug}/updates/{update_id:[a-z0-9-]{1,64}}", sent, name="space_update")
    router.add_get("/users/{username}/updates/{update_id:[a-z0-9-]{1,64}}", sent, name="user_update")
    following = router.add_resource("/following", name="following")
    following.add_route("GET", _lazy("mirror_views", "following"))
    following.add_route("POST", _lazy("mirror_views", "following"))
    router.add_get("/following/{space_id}", _lazy("mirror_views", "remote_space"), name="remote_space")
    router.add_get("/following/{space_id}/items/{item_id}", _lazy("mirror_views", "remote_item"), name="remote_item")
    router.add_post("/following/{space_id}/unfollow", _lazy("mirror_views", "unfollow"), name="remote_unfollow")
    setup_publisher(app)
