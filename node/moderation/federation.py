"""Moderation across nodes (docs/FEDERATION.md, "Moderation across nodes").

Sending side: a resident reports a proposal, debate or comment of another node from this node's
mirror (``remote_items``). This node's moderators get the report like any other and may hide the
copy shown here, nothing more; the report is also forwarded to the node the content comes from,
as an ActivityPub ``Flag`` sent by this node's ``Application`` actor. As Mastodon does, the
reporter is not named: the other node learns which node reported, never who.

When the content was written on a third node — a partner node's resident's comment or proposal
in a co-hosted space (``attributedTo`` there), or a proposal shared from another node (its copy's
``context``) — the same Flag also goes to that node: the host moderates its space, the origin
node its resident or its proposal.

Receiving side (``on_flag``): a ``Flag`` naming proposals, debates or comments of this node
becomes a report by the sending node — one per node and item, a repeat changes nothing — which
counts toward the auto-hide threshold like residents' reports. So does one naming an item of a
space this node mirrors that one of this node's residents wrote there (a report on this node's
copy, for its moderators to see what their resident is reported for). Anything else it names is
ignored.
"""
from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import nh3
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.vocab import default_context, id_of
from node.activitypub import uris
from node.activitypub.follow_models import RemoteItem, RemoteSpace
from node.appkeys import DB, SETTINGS
from node.moderation import service
from node.moderation.models import REASONS, REMOTE_SUBJECT
from node.moderation.service import DETAILS_LIMIT, EXCERPT, Subject

log = logging.getLogger("civicnode.moderation")

MAX_FLAG_OBJECTS = 20  # a Flag names a few items; more is not a report but a flood
MAX_THREAD_DEPTH = 8  # as the mirror's pages (node.activitypub.mirror_views)
# The `content` of a Flag, for software that does not read `reportReason`: plain English, since
# the receiving node shows the reason in its moderators' language from `reportReason`.
REASON_TEXT = {"spam": "Spam", "offensive": "Offensive, harassment or hate",
               "does_not_belong": "Does not belong here", "other": "Other"}
_LOCAL_OBJECT = re.compile(r"/spaces/(?P<slug>[^/?#]+)/proposals/(?P<proposal>\d{1,10})"
                           r"|/spaces/(?P<dslug>[^/?#]+)/c/\d{1,10}/debates/(?P<debate>\d{1,10})"
                           r"|/comments/(?P<comment>\d{1,10})")


def plain_text(content: str) -> str:
    return html.unescape(nh3.clean(content or "", tags=set())).strip()


# --- content of other nodes, as this node shows it ----------------------------------------------------


async def load_remote_subject(db, item_id: int) -> Subject | None:
    """A mirrored item as the report form and the queue show it; None once its node deleted it."""
    row = (await db.execute(select(RemoteItem, RemoteSpace).join(RemoteSpace)
                            .where(RemoteItem.id == item_id))).first()
    if row is None or row[0].deleted_at is not None:
        return None
    item, space = row
    root = item
    for _ in range(MAX_THREAD_DEPTH):  # a comment is shown on the page of the item it is under
        if root.kind != "comment" or not root.in_reply_to:
            break
        parent = await db.scalar(select(RemoteItem).where(RemoteItem.uri == root.in_reply_to,
                                                          RemoteItem.remote_space_id == space.id))
        if parent is None:
            break
        root = parent
    if root.kind == "comment":
        url = f"/following/{space.id}"
    else:
        url = f"/following/{space.id}/items/{root.id}" + (f"#remote-comment-{item.id}" if item is not root else "")
    return Subject(REMOTE_SUBJECT, item.id, None, url, root.name or item.name,
                   plain_text(item.content_html)[:EXCERPT], None, True,
                   origin_host=space.host, origin_uri=item.uri, origin_url=item.url, origin_space=space.uri)


# --- sending a Flag -------------------------------------------------------------------------------


async def origin_refused(app: web.Application, subject: Subject) -> bool:
    """Whether this node no longer federates with the content's node (blocked, or not on the
    allowlist): the report then stays here."""
    from node.activitypub.inbox import POLICIES

    return bool(await app[POLICIES].refusal(subject.origin_host))


async def _origin_node(db, subject: Subject) -> tuple[str, str]:
    """(the origin node's actor, the inbox to deliver to): the partnership's when the space is
    co-hosted, else the node actor of the space's origin and its Group's shared inbox."""
    from node.activitypub.models import RemoteActorRecord
    from node.cohosting.models import Partnership

    partnership = await db.scalar(select(Partnership).where(Partnership.space_uri == subject.origin_space,
                                                            Partnership.state == "active"))
    if partnership is not None and partnership.host_inbox:
        return partnership.host_node_uri, partnership.host_inbox
    parts = urlsplit(subject.origin_space)
    actor = uris.node_actor(f"{parts.scheme}://{parts.netloc}")
    space = await db.scalar(select(RemoteSpace).where(RemoteSpace.uri == subject.origin_space))
    document = await db.scalar(select(RemoteActorRecord.document)
                               .where(RemoteActorRecord.uri == subject.origin_space)) or {}
    endpoints = document.get("endpoints") if isinstance(document, dict) else None
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if isinstance(shared, str) and urlsplit(shared).netloc == parts.netloc:
        return actor, shared
    return actor, space.inbox


@dataclass(frozen=True)
class ThirdNode:
    """The node a mirrored item was written on, when it is not the space's host."""

    host: str
    actor: str  # its node actor
    inbox: str
    object: str | None  # what to name there besides the item: the shared proposal's own id


def _written_on(item: RemoteItem, space_host: str) -> tuple[str, str | None] | None:
    """(the base URL of the node ``item`` was written on, the id to name there) when that node is
    not the space's host: the origin of a shared proposal (``context``), else the node of its
    author (a partner node's resident)."""
    context = item.document.get("context") if isinstance(item.document, dict) else None
    candidates = []
    if item.kind == "proposal" and isinstance(context, str):
        candidates.append((context, context))
    candidates.append((item.attributed_to, None))
    for uri, named in candidates:
        parts = urlsplit(uri or "")
        if parts.scheme in ("http", "https") and parts.netloc and parts.netloc.lower() != space_host:
            return f"{parts.scheme}://{parts.netloc}", named
    return None


async def third_node(app: web.Application, subject: Subject) -> ThirdNode | None:
    """The third node a report on ``subject`` (a mirrored item) also goes to, resolved before the
    report's transaction (it may fetch that node's actor); None when there is none, it is this
    node, this node does not federate with it, or its actor cannot be fetched."""
    from node.activitypub.inbox import POLICIES, remote_actors

    if subject.type != REMOTE_SUBJECT:
        return None
    async with app[DB]() as db:
        item = await db.get(RemoteItem, subject.id)
    found = _written_on(item, subject.origin_host.lower()) if item is not None else None
    if found is None:
        return None
    base, named = found
    host = urlsplit(base).netloc.lower()
    if host == urlsplit(app[SETTINGS].base_url).netloc.lower() or await app[POLICIES].refusal(host):
        return None  # our own resident's words: our moderators have the report already
    try:
        actor = (await remote_actors(app).resolve(uris.node_actor(base))).actor
    except Exception as exc:  # unreachable, or not a node: the host still gets the Flag
        log.info("not flagging to %s: %s", base, exc)
        return None
    if urlsplit(actor.id).netloc.lower() != host:
        return None
    return ThirdNode(host, actor.id, actor.shared_inbox or actor.inbox, named)


def flag_content(reason: str, details: str) -> str:
    return f"{REASON_TEXT[reason]}: {details}" if details else REASON_TEXT[reason]


async def forward_report(app: web.Application, db, subject: Subject, reason: str, details: str, *,
                         host: bool = True, third: ThirdNode | None = None) -> dict | None:
    """Queue the Flag of ``subject`` to its origin node (``host``: the space's host) and to
    ``third`` (node.moderation.federation.third_node), in the caller's transaction (it is sent
    only if the report commits). One activity: each node reads the ids that are its own."""
    from node.activitypub.outbox import enqueue

    node = uris.node_actor(app[SETTINGS].base_url)
    to, inboxes, objects = [], [], [subject.origin_uri]
    if host:
        origin_actor, inbox = await _origin_node(db, subject)
        to.append(origin_actor)
        inboxes.append(inbox)
    if third is not None:
        to.append(third.actor)
        inboxes.append(third.inbox)
        if third.object:
            objects.append(third.object)
    if not inboxes:
        return None
    activity = {"@context": default_context(), "id": f"{node}/flags/{uuid.uuid4()}", "type": "Flag",
                "actor": node, "object": list(dict.fromkeys(objects)),
                "content": flag_content(reason, details.strip()), "reportReason": reason,
                "to": list(dict.fromkeys(to))}
    await enqueue(db, actor_type="node", actor_id=0, activity=activity, inboxes=list(dict.fromkeys(inboxes)))
    return activity


# --- receiving a Flag -----------------------------------------------------------------------------


def local_object(base_url: str, uri: str | None) -> tuple[str, int, str] | None:
    """(subject type, id, path) when ``uri`` is the id of one of this node's proposals, debates
    or comments (as the publisher mints them), else None."""
    if not isinstance(uri, str) or not uri.startswith(base_url + "/"):
        return None
    path = uri[len(base_url):]
    found = _LOCAL_OBJECT.fullmatch(path)
    if found is None:
        return None
    for kind in ("proposal", "debate", "comment"):
        if found.group(kind):
            number = int(found.group(kind))
            return (kind, number, path) if 0 < number < 2**31 else None
    return None


def report_details(content, reason: str) -> str:
    """The reporter's words from a Flag's ``content`` (plain text; the reason prefix our own
    Flags carry is dropped, the reason being shown from ``reportReason``)."""
    text = plain_text(content) if isinstance(content, str) else ""
    prefix = REASON_TEXT[reason]
    if text == prefix:
        return ""
    if text.startswith(prefix + ": "):
        text = text[len(prefix) + 2:]
    return text[:DETAILS_LIMIT]


async def on_flag(ctx, activity: dict, actor) -> None:
    app = ctx.app
    base = app[SETTINGS].base_url
    named = activity.get("object")
    named = named if isinstance(named, list) else [named]
    reason = activity.get("reportReason")
    reason = reason if isinstance(reason, str) and reason in REASONS else "other"
    details = report_details(activity.get("content"), reason)
    threshold = app[SETTINGS].moderation_hide_threshold
    ids = [id_of(value) for value in named[:MAX_FLAG_OBJECTS]]
    wanted = [local_object(base, uri) for uri in ids]
    elsewhere = [uri for uri, found in zip(ids, wanted) if found is None and isinstance(uri, str)]
    if elsewhere:
        wanted += [(REMOTE_SUBJECT, item_id, None) for item_id in await _our_residents_items(app, elsewhere)]
    for kind, number, path in dict.fromkeys(found for found in wanted if found):
        for attempt in (1, 2):
            try:
                async with app[DB].begin() as db:
                    subject = await service.load_subject(db, kind, number)
                    if subject is None or not subject.published or (
                            kind not in ("comment", REMOTE_SUBJECT) and subject.url != path):
                        break  # not ours (any more), or not public: nothing to report
                    if await service.report_from_node(db, subject, actor.id, reason, details, threshold):
                        log.info("%s reported %s %s", actor.id, kind, number)
                break
            except IntegrityError:
                # Two Flags raced to create the item's moderation row: the second try sees it.
                if attempt == 2:
                    raise


async def _our_residents_items(app: web.Application, named: list[str]) -> list[int]:
    """Mirror rows (``remote_items``) among ``named`` that one of this node's residents wrote in
    another node's space (a partner node's resident's comment or proposal there)."""
    from node.accounts.models import User

    prefix = uris.user_actor(app[SETTINGS].base_url, "")
    async with app[DB]() as db:
        rows = (await db.execute(select(RemoteItem.id, RemoteItem.attributed_to).where(
            RemoteItem.uri.in_(named), RemoteItem.deleted_at.is_(None)))).all()
        authors = {uri: uri[len(prefix):] for _, uri in rows if uri.startswith(prefix)}
        ours = set(await db.scalars(select(User.username).where(User.username.in_(set(authors.values())))))
    return [item_id for item_id, uri in rows if authors.get(uri) in ours]
