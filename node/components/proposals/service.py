"""Rules of proposals: publishing, editing, withdrawing and answering. Views, the API, the demo
and the tests all go through these functions; they work inside the caller's transaction and
raise ProposalError before writing anything."""
from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from node.accounts.roles import can_answer_proposals
from node.components.proposals.models import ANSWER_STATES, Proposal
from node.components.proposals.settings import settings_of
from node.components.proposals.versions import add_version, now_seconds
from node.events import record_event
from node.groups.acting import ActingRefused, acting_group_id
from node.i18n import N_
from node.moderation.log import log_action

LIMITS = {"title": (10, 150), "body": (15, 10_000), "category": (0, 100), "address": (0, 200),
          "answer": (0, 10_000)}
SIMILAR_SHOWN = 5


class ProposalError(Exception):
    """A refused action. `errors` maps form fields to gettext msgids (or (msgid, values)); the
    key "_" holds a message about the whole action. `status` is the HTTP status to answer."""

    def __init__(self, errors: dict, status: int = 422) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.status = status

    @property
    def message(self):
        return self.errors.get("_") or next(iter(self.errors.values()))


def refuse(message: str, status: int) -> ProposalError:
    return ProposalError({"_": message}, status)


ANSWER_REFUSED = N_("Only administrators and the evaluators of this space can answer its proposals.")


async def record_proposal_event(db, kind: str, proposal: Proposal, *, actor_id: int | None, **data) -> None:
    """An event about a proposal, in the caller's transaction. Every one names the proposal's
    author, version and component, so that notifications can tell the author and the followers
    of the space or component without loading the proposal again."""
    await record_event(db, kind, subject_type="proposal", subject_id=proposal.id, actor_id=actor_id,
                       space_id=proposal.space_id,
                       data={"author_id": proposal.author_id, "component_id": proposal.component_id,
                             "version": proposal.version_number, **data})


def clean_text(value) -> str:
    return str(value or "").replace("\r\n", "\n").strip()


def check_text(values: dict, settings: dict) -> dict:
    """The fields of a proposal (title, body, category, address), cleaned, or ProposalError."""
    data = {name: clean_text(values.get(name)) for name in ("title", "body", "category", "address")}
    data["title"] = re.sub(r"\s+", " ", data["title"])
    errors: dict = {}
    for name in ("title", "body"):
        low, high = LIMITS[name]
        if len(data[name]) < low:
            errors[name] = (N_("Write at least %(n)s characters."), {"n": low})
        elif len(data[name]) > high:
            errors[name] = (N_("Use at most %(n)s characters."), {"n": high})
    for name in ("category", "address"):
        if len(data[name]) > LIMITS[name][1]:
            errors[name] = (N_("Use at most %(n)s characters."), {"n": LIMITS[name][1]})
    if settings["categories"] and data["category"] and data["category"] not in settings["categories"]:
        errors["category"] = N_("Choose a category from the list.")
    if errors:
        raise ProposalError(errors)
    return data


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


async def similar_titles(db, component_id: int, title: str, exclude_id: int | None = None) -> list[Proposal]:
    """Proposals of the component whose title looks like `title`, most similar first.

    Titles only (a few kilobytes even for 5,000 proposals), compared in Python because fuzzy
    matching is not portable between SQLite and PostgreSQL."""
    rows = (await db.execute(select(Proposal.id, Proposal.title).where(
        Proposal.component_id == component_id, Proposal.state != "withdrawn"))).all()
    wanted, wanted_words = title.lower(), _words(title)
    scored = []
    for row_id, other in rows:
        if row_id == exclude_id:
            continue
        matcher = difflib.SequenceMatcher(None, wanted, other.lower())
        ratio = matcher.ratio() if matcher.real_quick_ratio() >= 0.7 else 0.0
        words = _words(other)
        overlap = len(wanted_words & words) / len(wanted_words | words) if wanted_words and words else 0.0
        score = max(ratio, overlap)
        if score >= 0.6:
            scored.append((score, row_id))
    scored.sort(reverse=True)
    ids = [row_id for _, row_id in scored[:SIMILAR_SHOWN]]
    if not ids:
        return []
    found = {p.id: p for p in await db.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


CREATION_CLOSED = N_("New proposals are not accepted in this component at the moment.")


async def create_proposal(db, *, space, component, author, values: dict, base_url: str,
                          on_behalf_of=None, remote_participant=None) -> Proposal:
    """`on_behalf_of`: the id of a verified group the author belongs to (node.groups), or None.
    The author stays the person: the group is not part of the fingerprinted version.
    `remote_participant`: a partner node's resident (node.cohosting.models.RemoteParticipant)
    writing from their node, with `author` None; their actor URI is the version's author."""
    if (author is None) == (remote_participant is None):
        raise ValueError("a proposal has exactly one author: a local user or a remote participant")
    settings = settings_of(component)
    if not settings["creation_enabled"]:
        raise refuse(CREATION_CLOSED, 403)
    data = check_text(values, settings)
    user_group_id = None
    if author is not None:
        try:
            user_group_id = await acting_group_id(db, author, on_behalf_of)
        except ActingRefused as exc:
            raise refuse(exc.message, exc.status) from None
    created = now_seconds()
    remote_uri = remote_participant.actor_uri if remote_participant is not None else None
    proposal = Proposal(component_id=component.id, space_id=space.id, author_id=author.id if author else None,
                        user_group_id=user_group_id, origin_author_uri=remote_uri,
                        remote_participant_id=remote_participant.id if remote_participant is not None else None,
                        state="not_answered", support_count=0, comments_count=0, created_at=created)
    await add_version(db, proposal, base_url=base_url, space_slug=space.slug,
                      author_username=author.username if author else None, author=remote_uri,
                      created_at=created, **data)
    await record_proposal_event(db, "proposal.created", proposal, actor_id=author.id if author else None)
    return proposal


def edit_deadline(proposal: Proposal, settings: dict) -> datetime | None:
    minutes = settings["edit_window_minutes"]
    return proposal.created_at + timedelta(minutes=minutes) if minutes else None


def is_author(proposal: Proposal, user, remote_participant=None) -> bool:
    """`remote_participant`: a partner node's resident acting from their node (with `user` None)."""
    if remote_participant is not None:
        return proposal.remote_participant_id == remote_participant.id
    return user is not None and user.id == proposal.author_id


def can_edit(proposal: Proposal, settings: dict, user, now: datetime | None = None,
             remote_participant=None) -> bool:
    deadline = edit_deadline(proposal, settings)
    return (is_author(proposal, user, remote_participant) and proposal.state == "not_answered"
            and deadline is not None and (now or datetime.now(timezone.utc)) <= deadline)


NOT_EDITABLE = N_("This proposal can no longer be edited: it has been answered or withdrawn.")
EDIT_TIME_OVER = N_("The time for editing this proposal is over. You can still comment on it.")
ALREADY_WITHDRAWN = N_("This proposal is already withdrawn.")


async def edit_proposal(db, proposal: Proposal, *, space, component, user, values: dict, base_url: str,
                        now: datetime | None = None, remote_participant=None) -> Proposal:
    """`remote_participant`: the partner node's resident who wrote it, editing from their node
    (node.cohosting.edits_host), with `user` None: the same rules, and their actor stays the
    author of the new version."""
    settings = settings_of(component)
    if not is_author(proposal, user, remote_participant):
        raise refuse(N_("Only the author of a proposal can edit it."), 403)
    if proposal.state != "not_answered":
        raise refuse(NOT_EDITABLE, 403)
    if not can_edit(proposal, settings, user, now, remote_participant):
        raise refuse(EDIT_TIME_OVER, 403)
    data = check_text(values, settings)
    if all(getattr(proposal, key) == value for key, value in data.items()):
        return proposal
    await add_version(db, proposal, base_url=base_url, space_slug=space.slug,
                      author_username=user.username if user is not None else None,
                      author=remote_participant.actor_uri if remote_participant is not None else None, **data)
    await record_proposal_event(db, "proposal.edited", proposal, actor_id=user.id if user is not None else None)
    return proposal


async def withdraw_proposal(db, proposal: Proposal, *, user, remote_participant=None) -> None:
    if not is_author(proposal, user, remote_participant):
        raise refuse(N_("Only the author of a proposal can withdraw it."), 403)
    if proposal.state == "withdrawn":
        raise refuse(ALREADY_WITHDRAWN, 409)
    if proposal.state in ("accepted", "rejected"):
        raise refuse(N_("An answered proposal cannot be withdrawn."), 409)
    previous = proposal.state
    proposal.state = "withdrawn"
    proposal.withdrawn_at = datetime.now(timezone.utc)
    await record_proposal_event(db, "proposal.withdrawn", proposal, actor_id=user.id if user is not None else None,
                                previous=previous)
    await db.flush()


async def answer_proposal(db, proposal: Proposal, *, user, state: str, answer: str) -> None:
    """An official answer by an administrator or an evaluator of the proposal's space."""
    if not await can_answer_proposals(db, user, proposal.space_id):
        raise refuse(ANSWER_REFUSED, 403)
    if state not in ANSWER_STATES:
        raise ProposalError({"state": N_("Choose one of the states offered.")})
    if proposal.state == "withdrawn":
        raise refuse(N_("A withdrawn proposal cannot be answered."), 409)
    answer = clean_text(answer)
    if len(answer) > LIMITS["answer"][1]:
        raise ProposalError({"answer": (N_("Use at most %(n)s characters."), {"n": LIMITS["answer"][1]})})
    previous = proposal.state
    proposal.state = state
    proposal.answer = answer
    proposal.answered_at = None if state == "not_answered" else datetime.now(timezone.utc)
    await record_proposal_event(db, "proposal.answered", proposal, actor_id=user.id,
                                state=state, previous=previous, answer=answer)
    await log_action(db, user, "proposal.answer", subject_type="proposal", subject_id=proposal.id, data={"state": state})
    await db.flush()
