"""What every proposals page needs: the space, component and proposal named in the URL (if this
visitor may see them), the active phase, and messages in the visitor's language."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import GETTEXT, SETTINGS, USER
from node.components.proposals.models import Proposal
from node.i18n import N_
from node.spaces.models import Component, Phase
from node.spaces.views import visible_space
from node.moderation.visibility import not_hidden
from node.web.errors import user_error

# Short codes in the redirect after a successful POST (?done=...), no session state needed.
DONE = {
    "created": N_("Your proposal is published."),
    "edited": N_("Your changes are published as a new version."),
    "withdrawn": N_("Your proposal is withdrawn. It stays visible, marked as withdrawn."),
    "supported": N_("Thank you: your support is recorded."),
    "unsupported": N_("Your support is removed."),
    "answered": N_("The answer is published."),
    "amended": N_("Your amendment is sent to the proposal's author."),
    "amendment_accepted": N_("The amendment is accepted: its text is now the current version."),
    "amendment_rejected": N_("The amendment is rejected."),
}
MAX_ID = 2**31 - 1


def id_param(request: web.Request, name: str) -> int:
    """An id from the URL; anything that is not one (letters, huge numbers) is a 404, never a
    database error."""
    raw = request.match_info[name]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise user_error(404, "This proposal does not exist.")
    return int(raw)


def base_url(request: web.Request) -> str:
    return request.app[SETTINGS].base_url or f"{request.scheme}://{request.host}"


def is_admin(request: web.Request) -> bool:
    user = request.get(USER)
    return bool(user and user.is_admin)


def message(request: web.Request, value) -> str:
    """A msgid or (msgid, values), translated and formatted."""
    gettext = request.get(GETTEXT) or (lambda s: s)
    if isinstance(value, tuple):
        msgid, values = value
        return gettext(msgid) % values
    return gettext(value)


def done_message(request: web.Request) -> str | None:
    code = request.query.get("done", "")
    return message(request, DONE[code]) if code in DONE else None


async def active_phase_id(db, space_id: int) -> int | None:
    return await db.scalar(select(Phase.id).where(Phase.space_id == space_id, Phase.active.is_(True)))


async def load_component(request: web.Request, db, space, component_id: int) -> Component:
    component = await db.scalar(select(Component).where(
        Component.id == component_id, Component.space_id == space.id, Component.kind == "proposals"))
    if component is None or (not component.published and not is_admin(request)):
        raise user_error(404, "This space has no such component.")
    return component


async def load_proposal(request: web.Request, db, *, for_update: bool = False):
    """(space, component, proposal, author) named by /spaces/{slug}/proposals/{proposal_id}."""
    proposal_id = id_param(request, "proposal_id")
    space = await visible_space(request, db)
    query = (select(Proposal, User).outerjoin(User, User.id == Proposal.author_id)
             .where(Proposal.id == proposal_id, Proposal.space_id == space.id, not_hidden("proposal", Proposal.id)))
    row = (await db.execute(query)).first()
    if row is None:
        raise user_error(404, "This proposal does not exist.")
    proposal, author = row
    component = await load_component(request, db, space, proposal.component_id)
    return space, component, proposal, author


def proposal_url(request: web.Request, space, proposal_id: int, done: str | None = None) -> str:
    url = request.app.router["proposal"].url_for(slug=space.slug, proposal_id=str(proposal_id))
    return str(url.with_query(done=done) if done else url)
