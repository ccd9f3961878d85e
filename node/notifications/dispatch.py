"""From one participation event to the notifications it causes (in the caller's transaction).

Who is told what:
- comment.created: the followers of the commented item ("comment"); the commenter then follows it;
- proposal.created / debate.created: the author follows the item; the author's followers are told
  ("new_item");
- proposal.answered: the author and the followers of the proposal ("answer");
- proposal.amendment_proposed: the author of the proposal ("amendment");
- @username in a comment or a new proposal: that user ("mention", which wins over "comment");
- space.phase_activated: the followers of the space ("phase");
- group.*: invitations, requests to join and their answers, verification (node.groups.notify).
Nobody is told about their own action, and nothing is told about unpublished content.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from node.accounts.models import User
from node.events import Event
from node.notifications.follows import follow, followers
from node.notifications.models import Notification

# "@name" not preceded by a word character, "@" or "/" (so emails and URLs are not mentions).
MENTION_RE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_]{3,30})(?![\w@])")
MAX_MENTIONS = 20  # a comment naming the whole town is not a way to mail it
GROUP_KINDS = ("group.invited", "group.join_requested", "group.request_accepted", "group.request_refused",
               "group.verified", "group.unverified", "group.renamed")  # planned in node.groups.notify
KINDS = ("comment.created", "proposal.created", "debate.created", "proposal.answered",
         "proposal.amendment_proposed", "space.phase_activated", *GROUP_KINDS)


@dataclass
class Plan:
    url: str
    title: dict
    recipients: dict[int, str] = field(default_factory=dict)  # user id -> notification kind
    follows: list[tuple[str, int]] = field(default_factory=list)  # what the actor starts following
    actor_name: str | None = None  # a partner node's resident: "Name (home host)"

    def tell(self, user_ids, kind: str) -> None:
        for user_id in user_ids:
            if user_id is not None and self.recipients.get(user_id) != "mention":
                self.recipients[user_id] = kind


def _translated(title) -> dict:
    return title if isinstance(title, dict) else {"und": str(title or "")}


async def _target(db, subject_type: str, subject_id: int):
    from node.components.comments.registry import load_target

    target = await load_target(db, subject_type, subject_id)
    return target if target is not None and target.published else None


async def _remote_label(db, participant_id: int | None) -> str | None:
    """How a partner node's resident who wrote it is named, as on the pages."""
    from node.api.authors import remote_label
    from node.cohosting.models import RemoteParticipant

    participant = await db.get(RemoteParticipant, participant_id) if participant_id else None
    return remote_label(participant.actor_uri, participant.display_name, participant.home_host) \
        if participant else None


async def mentioned(db, text: str) -> set[int]:
    names = {name.lower() for name in MENTION_RE.findall(text or "")}
    if not names:
        return set()
    return set(await db.scalars(select(User.id).where(User.username.in_(sorted(names)[:MAX_MENTIONS]))))


async def _comment(db, event: Event) -> Plan | None:
    from node.components.comments.models import Comment

    comment = await db.get(Comment, event.subject_id)
    if comment is None or comment.deleted_at is not None:
        return None
    kind, item_id = comment.commentable_type, comment.commentable_id
    target = await _target(db, kind, item_id)
    if target is None:
        return None
    plan = Plan(f"{target.url}#comment-{comment.id}", _translated(target.title),
                actor_name=await _remote_label(db, comment.remote_participant_id))
    plan.tell(await followers(db, kind, item_id), "comment")
    plan.tell(await mentioned(db, comment.body), "mention")
    plan.follows.append((kind, item_id))
    return plan


async def _new_item(db, event: Event) -> Plan | None:
    target = await _target(db, event.subject_type, event.subject_id)
    author_id = (event.data or {}).get("author_id")
    if target is None:
        return None
    plan = Plan(target.url, _translated(target.title))
    if author_id is not None:
        plan.tell(await followers(db, "user", author_id), "new_item")
        plan.follows.append((event.subject_type, event.subject_id))
    if event.subject_type == "proposal":
        from node.components.proposals.models import Proposal

        proposal = await db.get(Proposal, event.subject_id)
        plan.actor_name = await _remote_label(db, proposal.remote_participant_id if proposal else None)
        plan.tell(await mentioned(db, proposal.body if proposal else ""), "mention")
    return plan


async def _answered(db, event: Event) -> Plan | None:
    if (event.data or {}).get("state") == "not_answered":
        return None  # an answer taken back: nothing new to read
    target = await _target(db, "proposal", event.subject_id)
    if target is None:
        return None
    plan = Plan(target.url, _translated(target.title))
    plan.tell([event.data.get("author_id"), *await followers(db, "proposal", event.subject_id)], "answer")
    return plan


async def _amendment(db, event: Event) -> Plan | None:
    target = await _target(db, "proposal", event.subject_id)
    if target is None:
        return None
    plan = Plan(target.url, _translated(target.title))
    plan.tell([(event.data or {}).get("author_id")], "amendment")
    return plan


async def _phase(db, event: Event) -> Plan | None:
    from node.spaces.models import Space

    space = await db.get(Space, event.subject_id)
    if space is None or not space.published:
        return None
    plan = Plan(f"/spaces/{space.slug}", dict(space.title or {}))
    plan.tell(await followers(db, "space", space.id), "phase")
    return plan


async def _group(db, event: Event) -> Plan | None:
    from node.groups.notify import plan_group_event

    return await plan_group_event(db, event)


_PLANNERS = {"comment.created": _comment, "proposal.created": _new_item, "debate.created": _new_item,
             "proposal.answered": _answered, "proposal.amendment_proposed": _amendment,
             "space.phase_activated": _phase, **dict.fromkeys(GROUP_KINDS, _group)}


async def notify_event(db, event: Event) -> list[int]:
    """Write the notifications of one event; returns the ids of the people notified."""
    planner = _PLANNERS.get(event.kind)
    plan = await planner(db, event) if planner else None
    if plan is None:
        return []
    if event.actor_id is not None:
        plan.recipients.pop(event.actor_id, None)
        for subject_type, subject_id in plan.follows:
            await follow(db, event.actor_id, subject_type, subject_id)
    if not plan.recipients:
        return []
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    rows = [{"user_id": user_id, "event_id": event.id, "kind": kind, "actor_id": event.actor_id,
             "actor_name": plan.actor_name and plan.actor_name[:300], "title": plan.title, "url": plan.url[:500], "created_at": event.created_at}
            for user_id, kind in sorted(plan.recipients.items())]
    await db.execute(insert(Notification).on_conflict_do_nothing(index_elements=["user_id", "event_id"]), rows)
    return sorted(plan.recipients)
