"""Content negotiation: the same URL is an HTML page for people and an ActivityStreams
document for servers (as Mastodon, Lemmy and Mobilizon do)."""
from __future__ import annotations

from aiohttp import web

from federation.vocab import ACTIVITY_JSON, is_activity_json

AP_MEDIA_TYPES = ("application/activity+json", "application/ld+json")


def wants_activity_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in AP_MEDIA_TYPES or is_activity_json(part.strip()):
            return True
        if media in ("text/html", "application/xhtml+xml"):
            return False
    return False


def activity_response(document: dict, status: int = 200) -> web.Response:
    response = web.json_response(document, status=status, content_type=ACTIVITY_JSON)
    # Caches must keep HTML and JSON apart for the same URL.
    response.headers["Vary"] = "Accept"
    return response
