"""Rules for debates: who opens them, what a debate must say, closing with a conclusion, and how
the comments package sees a debate (its CommentTarget)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, update

from node.accounts.models import User
from node.components.comments.registry import DEFAULT_MAX_DEPTH, CommentTarget
from node.db.base import utcnow
from node.events import record_event
from node.i18n import N_
from node.spaces.models import Component, Space
from node.spaces.service import clean_translated, too_long
from node.components.debates.models import Debate
from node.moderation.visibility import not_hidden

DEFAULT_SETTINGS = {"users_can_create": False, "comments_enabled": True, "max_depth": DEFAULT_MAX_DEPTH}
LIMITS = {"title": 150, "description": 10_000, "instructions": 5_000, "conclusion": 10_000}
FILTERS = ("open", "closed", "all")


class DebateError(Exception):
    """Invalid input; `errors` maps a form field ("title.fr", "start_at"…) to a gettext msgid or
    (msgid, values), as node.admin.forms.translate_errors expects."""

    def __init__(self, errors: dict) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def settings_of(component: Component) -> dict:
    return {**DEFAULT_SETTINGS, **(component.settings or {})}


def debate_path(space_slug: str, component_id: int, debate_id: int) -> str:
    return f"/spaces/{space_slug}/c/{component_id}/debates/{debate_id}"


def can_open_debate(user, component: Component) -> bool:
    return user is not None and (user.is_admin or settings_of(component)["users_can_create"])


def _own_debate(user, debate: Debate, component: Component) -> bool:
    # Residents manage their own debates only while the component lets residents open debates.
    return (user is not None and debate.author_id is not None and debate.author_id == user.id
            and settings_of(component)["users_can_create"])


def close_refusal(user, debate: Debate, component: Component) -> str | None:
    """Why `user` may not close this debate (or change its conclusion): a msgid, or None."""
    if user is not None and (user.is_admin or _own_debate(user, debate, component)):
        return None
    return N_("Only the organisers and the author of this debate can close it.")


def edit_refusal(user, debate: Debate, component: Component) -> str | None:
    """Why `user` may not edit this debate: a msgid, or None. Its author edits it only while
    nobody has commented, so that no comment ends up answering a text that changed under it."""
    if user is not None and user.is_admin:
        return None
    if not _own_debate(user, debate, component):
        return N_("Only the organisers and the author of this debate can edit it.")
    if debate.closed:
        return N_("This debate is closed: it can no longer be edited.")
    if debate.comments_count:
        return N_("This debate has comments, so its text can no longer change. You can still close it "
                  "with a conclusion.")
    return None


def parse_datetime(text, field: str, errors: dict) -> datetime | None:
    if isinstance(text, datetime) or text is None:
        return text
    text = str(text).strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = N_("Enter a date and time like 2027-03-31T18:30.")
        return None
    # Form values have no zone; the node shows and reads times in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _debate_data(values: dict, language: str, *, official: bool) -> dict:
    errors: dict = {}
    data = {field: clean_translated(values.get(field)) for field in ("title", "description", "instructions")}
    if not official:
        data["instructions"] = {}
    if not data["title"]:
        errors[f"title.{language}"] = N_("Enter the debate's title.")
    if not official and not data["description"]:
        errors[f"description.{language}"] = N_("Say what the debate is about.")
    for field in ("title", "description", "instructions"):
        for lang, text in data[field].items():
            if len(text) > LIMITS[field]:
                errors[f"{field}.{lang}"] = too_long(LIMITS[field])
    data["start_at"] = parse_datetime(values.get("start_at"), "start_at", errors)
    data["end_at"] = parse_datetime(values.get("end_at"), "end_at", errors)
    if data["start_at"] and data["end_at"] and data["end_at"] < data["start_at"]:
        errors["end_at"] = N_("The end must be on or after the start.")
    if errors:
        raise DebateError(errors)
    return data


async def create_debate(db, component: Component, values: dict, *, author=None, language: str) -> Debate:
    """author None = an official debate (administrators); `language` is the one a resident wrote
    in, or the node's default for organisers, and names the field of a missing title."""
    data = _debate_data(values, language, official=author is None)
    debate = Debate(component_id=component.id, space_id=component.space_id,
                    author_id=author.id if author else None, comments_count=0, conclusion={}, **data)
    db.add(debate)
    await db.flush()
    await record_event(db, "debate.created", subject_type="debate", subject_id=debate.id,
                       actor_id=author.id if author else None, space_id=component.space_id,
                       data={"author_id": debate.author_id, "component_id": component.id})
    return debate


async def update_debate(db, debate: Debate, values: dict, *, language: str, actor_id: int | None = None) -> Debate:
    data = _debate_data(values, language, official=debate.official)
    if all(getattr(debate, key) == value for key, value in data.items()):
        return debate  # saved unchanged: nothing to tell anyone
    for key, value in data.items():
        setattr(debate, key, value)
    await db.flush()
    await record_event(db, "debate.edited", subject_type="debate", subject_id=debate.id, actor_id=actor_id,
                       space_id=debate.space_id,
                       data={"author_id": debate.author_id, "component_id": debate.component_id})
    return debate


async def close_debate(db, debate: Debate, conclusion: dict, *, actor_id: int | None, language: str) -> Debate:
    """Close (or correct the conclusion of a closed debate). A conclusion is required: a closed
    debate must tell its participants what came out of it."""
    conclusion = clean_translated(conclusion)
    errors: dict = {}
    if not conclusion:
        errors[f"conclusion.{language}"] = N_("Write the conclusion of the debate before closing it.")
    for lang, text in conclusion.items():
        if len(text) > LIMITS["conclusion"]:
            errors[f"conclusion.{lang}"] = too_long(LIMITS["conclusion"])
    if errors:
        raise DebateError(errors)
    first_close = debate.closed_at is None
    debate.conclusion = conclusion
    debate.closed_at = debate.closed_at or utcnow()
    await db.flush()
    if first_close:
        await record_event(db, "debate.closed", subject_type="debate", subject_id=debate.id,
                           actor_id=actor_id, space_id=debate.space_id,
                           data={"author_id": debate.author_id, "component_id": debate.component_id})
    return debate


async def list_debates(db, component_id: int, state: str, offset: int, limit: int) -> tuple[list, int]:
    where = [Debate.component_id == component_id, not_hidden("debate", Debate.id)]
    if state == "open":
        where.append(Debate.closed_at.is_(None))
    elif state == "closed":
        where.append(Debate.closed_at.is_not(None))
    total = await db.scalar(select(func.count()).select_from(Debate).where(*where))
    rows = (await db.execute(
        select(Debate, User.nickname, User.username).outerjoin(User, User.id == Debate.author_id)
        .where(*where).order_by(Debate.created_at.desc(), Debate.id.desc()).offset(offset).limit(limit))).all()
    return [tuple(row) for row in rows], total


def comment_target(debate: Debate, component: Component, space: Space) -> CommentTarget:
    settings = settings_of(component)
    if debate.closed:
        message = N_("This debate is closed: it no longer accepts comments.")
    else:
        message = N_("Comments are turned off for these debates.")

    async def count_changed(db, delta: int) -> None:
        await db.execute(update(Debate).where(Debate.id == debate.id)
                         .values(comments_count=Debate.comments_count + delta)
                         .execution_options(synchronize_session=False))

    return CommentTarget(
        space_id=space.id, component_id=component.id, url=debate_path(space.slug, component.id, debate.id),
        is_open=bool(settings["comments_enabled"]) and not debate.closed, closed_message=message,
        supports_alignment=False, max_depth=int(settings["max_depth"]),
        published=space.published and component.published, count_changed=count_changed, title=debate.title)


async def load_debate_target(db, debate_id: int) -> CommentTarget | None:
    row = (await db.execute(
        select(Debate, Component, Space).join(Component, Component.id == Debate.component_id)
        .join(Space, Space.id == Debate.space_id).where(Debate.id == debate_id))).first()
    return comment_target(*row) if row else None
