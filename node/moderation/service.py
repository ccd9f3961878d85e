"""Reporting, hiding and blocking. Every function works inside the caller's transaction, raises
ModerationError before writing anything when the action is refused, and logs what moderators do
(node.moderation.log) in the same transaction."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from node.accounts.models import User, WebSession
from node.accounts.roles import has_role
from node.db.base import utcnow
from node.events import record_event
from node.i18n import N_
from node.moderation.log import log_action
from node.moderation.models import REASONS, REMOTE_SUBJECT, SUBJECT_TYPES, Moderation, Report, UserBlock

DETAILS_LIMIT = 1000
REASON_LIMIT = 1000
EXCERPT = 300


class ModerationError(Exception):
    """A refused action: HTTP status and a gettext msgid."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Subject:
    """A reportable item as the queue and the forms show it. For a copy of another node's content
    (type REMOTE_SUBJECT) the origin_* fields say where it comes from."""

    type: str
    id: int
    space_id: int | None
    url: str
    title: str
    excerpt: str
    author_id: int | None
    published: bool
    origin_host: str = ""
    origin_uri: str = ""
    origin_url: str = ""
    origin_space: str = ""


def _text(value) -> str:
    if isinstance(value, dict):  # translated fields: any language will do for moderators
        return next((str(v) for v in value.values() if v), "")
    return str(value or "")


async def load_subject(db, subject_type: str, subject_id: int) -> Subject | None:
    """The item, with the page it is shown on (through the comments registry, which knows the
    page of every commentable type), or None."""
    from node.components.comments.models import Comment
    from node.components.comments.registry import load_target

    if subject_type == REMOTE_SUBJECT:
        from node.moderation.federation import load_remote_subject

        return await load_remote_subject(db, subject_id)
    if subject_type not in SUBJECT_TYPES:
        return None
    if subject_type == "comment":
        comment = await db.get(Comment, subject_id)
        if comment is None or comment.deleted:
            return None
        target = await load_target(db, comment.commentable_type, comment.commentable_id)
        if target is None:
            return None
        return Subject("comment", comment.id, comment.space_id, f"{target.url}#comment-{comment.id}",
                       _text(target.title), comment.body[:EXCERPT], comment.author_id, target.published)
    target = await load_target(db, subject_type, subject_id)
    if target is None:
        return None
    if subject_type == "proposal":
        from node.components.proposals.models import Proposal as model
        body_field = "body"
    else:
        from node.components.debates.models import Debate as model
        body_field = "description"
    item = await db.get(model, subject_id)
    subject = Subject(subject_type, subject_id, target.space_id, target.url, _text(target.title),
                      _text(getattr(item, body_field))[:EXCERPT], item.author_id, target.published)
    if getattr(item, "origin_uri", None):  # a proposal shared from another node: reports go there too
        from node.cohosting.models import ProposalOffer

        origin_space = await db.scalar(select(ProposalOffer.origin_space_uri).where(
            ProposalOffer.proposal_id == item.id, ProposalOffer.state == "accepted"))
        if origin_space:
            subject.origin_host = urlsplit(item.origin_uri).netloc.lower()
            subject.origin_uri = subject.origin_url = item.origin_uri
            subject.origin_space = origin_space
    return subject


async def _moderation_for_update(db, subject: Subject) -> Moderation:
    """The item's moderation row, created if needed. The row is then locked (PostgreSQL) or the
    write lock taken (SQLite) so that concurrent reports count exactly."""
    moderation = await db.scalar(select(Moderation).where(
        Moderation.subject_type == subject.type, Moderation.subject_id == subject.id).with_for_update())
    if moderation is None:
        # Two first reports racing both insert: the unique constraint refuses the second, whose
        # transaction the caller retries once.
        moderation = Moderation(subject_type=subject.type, subject_id=subject.id, space_id=subject.space_id,
                                report_count=0, hidden_reason="", created_at=utcnow(), updated_at=utcnow())
        db.add(moderation)
        await db.flush()
    return moderation


async def report(db, subject: Subject, user: User, reason: str, details: str, threshold: int) -> Moderation:
    if reason not in REASONS:
        raise ModerationError(422, N_("Choose why you report this."))
    details = str(details or "").strip()
    if len(details) > DETAILS_LIMIT:
        raise ModerationError(422, N_("Say it in at most 1000 characters."))
    if reason == "other" and not details:
        raise ModerationError(422, N_("Say what is wrong when you choose “Other”."))
    moderation = await _moderation_for_update(db, subject)
    if moderation.hidden:
        raise ModerationError(409, N_("This content is already hidden; moderators are looking at it."))
    if await db.scalar(select(Report.id).where(Report.moderation_id == moderation.id,
                                               Report.user_id == user.id)) is not None:
        raise ModerationError(409, N_("You have already reported this; moderators will look at it."))
    await _add_report(db, moderation, threshold, user_id=user.id, reason=reason, details=details)
    return moderation


async def report_from_node(db, subject: Subject, node_uri: str, reason: str, details: str,
                           threshold: int) -> Moderation | None:
    """A report another node forwarded (an ActivityPub Flag), counted like a resident's. One per
    node and item: a node is known by its host, so that one node cannot weigh more by sending
    from several actors. A repeat, or a report of an item already hidden, changes nothing (None)."""
    moderation = await _moderation_for_update(db, subject)
    if moderation.hidden:
        return None
    host = urlsplit(node_uri).netloc.lower()
    known = await db.scalars(select(Report.reporter_node).where(Report.moderation_id == moderation.id,
                                                                Report.reporter_node.is_not(None)))
    if any(urlsplit(other).netloc.lower() == host for other in known):
        return None
    await _add_report(db, moderation, threshold, reporter_node=node_uri, reason=reason, details=details)
    return moderation


async def _add_report(db, moderation: Moderation, threshold: int, **report) -> None:
    db.add(Report(moderation_id=moderation.id, created_at=utcnow(), **report))
    moderation.report_count += 1
    moderation.updated_at = utcnow()
    await db.flush()
    if threshold > 0 and moderation.report_count >= threshold:
        await _set_hidden(db, moderation, None, N_("Hidden automatically after %(n)s reports.") % {"n": threshold})


async def _set_hidden(db, moderation: Moderation, actor: User | None, reason: str) -> None:
    moderation.hidden_at = utcnow()
    moderation.hidden_by_id = actor.id if actor else None
    moderation.hidden_reason = reason
    moderation.updated_at = utcnow()
    await db.flush()
    if moderation.subject_type != REMOTE_SUBJECT:
        # Followers get a Delete of the item (node.moderation.publish). Hiding a copy of another
        # node's content concerns this node's pages only: nothing to tell anyone.
        data = {"reason": reason, "subject_type": moderation.subject_type, "subject_id": moderation.subject_id}
        await record_event(db, "moderation.hidden", subject_type=moderation.subject_type,
                           subject_id=moderation.subject_id, actor_id=actor.id if actor else None,
                           space_id=moderation.space_id, data=data)
    await log_action(db, actor, "moderation.hide", subject_type=moderation.subject_type,
                     subject_id=moderation.subject_id, reason=reason,
                     data={"automatic": actor is None, "reports": moderation.report_count})


def _require_moderator(user: User) -> None:
    if not has_role(user, "moderator"):
        raise ModerationError(403, N_("Only the node's moderators and administrators can open this page."))


def _clean_reason(reason) -> str:
    reason = str(reason or "").strip()
    if not reason:
        raise ModerationError(422, N_("Give a reason: it is kept in the moderation log."))
    if len(reason) > REASON_LIMIT:
        raise ModerationError(422, N_("Say it in at most 1000 characters."))
    return reason


async def hide(db, subject: Subject, user: User, reason) -> Moderation:
    _require_moderator(user)
    reason = _clean_reason(reason)
    moderation = await _moderation_for_update(db, subject)
    if moderation.hidden:
        raise ModerationError(409, N_("This content is already hidden."))
    await _set_hidden(db, moderation, user, reason)
    return moderation


async def unhide(db, moderation: Moderation, user: User, reason) -> Moderation:
    """Shows the item again; its reports are kept (the count restarts so it can be hidden anew)."""
    _require_moderator(user)
    reason = _clean_reason(reason)
    if not moderation.hidden:
        raise ModerationError(409, N_("This content is not hidden."))
    moderation.hidden_at = None
    moderation.hidden_by_id = None
    moderation.hidden_reason = ""
    moderation.report_count = 0
    moderation.updated_at = utcnow()
    await db.flush()
    if moderation.subject_type != REMOTE_SUBJECT:
        await record_event(db, "moderation.unhidden", subject_type=moderation.subject_type,
                           subject_id=moderation.subject_id, actor_id=user.id, space_id=moderation.space_id,
                           data={"reason": reason})
    await log_action(db, user, "moderation.unhide", subject_type=moderation.subject_type,
                     subject_id=moderation.subject_id, reason=reason)
    return moderation


async def block(db, target: User, user: User, reason) -> None:
    _require_moderator(user)
    reason = _clean_reason(reason)
    if target.id == user.id:
        raise ModerationError(422, N_("You cannot block your own account."))
    if target.is_admin or (target.is_moderator and not user.is_admin):
        raise ModerationError(403, N_("Only an administrator can block a moderator, and administrators "
                                      "cannot be blocked; change their role first."))
    if await db.scalar(select(UserBlock.id).where(UserBlock.user_id == target.id)) is not None:
        raise ModerationError(409, N_("This account is already blocked."))
    db.add(UserBlock(user_id=target.id, blocked_by_id=user.id, reason=reason, created_at=utcnow()))
    # Their open sessions end now, not when they expire.
    await db.execute(delete(WebSession).where(WebSession.user_id == target.id))
    await db.flush()
    await log_action(db, user, "user.block", subject_type="user", subject_id=target.id, reason=reason)


async def unblock(db, target: User, user: User, reason) -> None:
    _require_moderator(user)
    reason = _clean_reason(reason)
    result = await db.execute(delete(UserBlock).where(UserBlock.user_id == target.id))
    if not result.rowcount:
        raise ModerationError(409, N_("This account is not blocked."))
    await log_action(db, user, "user.unblock", subject_type="user", subject_id=target.id, reason=reason)


async def queue(db, *, hidden: bool, offset: int, limit: int) -> tuple[list[Moderation], int]:

    # Reported: waiting for a decision; hidden: whatever the number of reports (moderators hide unreported items).
    where = [Moderation.hidden_at.is_not(None)] if hidden else [Moderation.hidden_at.is_(None),
                                                                 Moderation.report_count > 0]
    total = await db.scalar(select(func.count()).select_from(Moderation).where(*where))
    rows = await db.scalars(select(Moderation).where(*where)
                            .order_by(Moderation.updated_at.desc(), Moderation.id.desc()).offset(offset).limit(limit))
    return list(rows), total


async def reports_of(db, moderation_ids: list[int]) -> dict[int, list[tuple[Report, str | None]]]:
    """Each item's reports with the reporter's username (None for a report by another node)."""
    found: dict[int, list] = {}
    if not moderation_ids:
        return found
    rows = await db.execute(select(Report, User.username).outerjoin(User, User.id == Report.user_id)
                            .where(Report.moderation_id.in_(moderation_ids)).order_by(Report.id))
    for report_row, username in rows.all():
        found.setdefault(report_row.moderation_id, []).append((report_row, username))
    return found


__all__ = ["ModerationError", "Subject", "block", "hide", "load_subject", "queue", "report", "report_from_node",
           "reports_of", "unblock", "unhide"]
