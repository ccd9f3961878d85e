"""What every proposals page needs: the space, component and proposal named in the URL (if this
visitor may see them), the active phase, and messages in the visitor's language."""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from aiohttp import web
from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import aliased

from node.accounts.models import User
from node.cohosting.models import ProposalShare
from node.appkeys import GETTEXT, SETTINGS, USER
from node.components.proposals.models import Amendment, Proposal, ProposalVersion, Support
from node.groups.models import UserGroup
from node.i18n import N_
from node.notifications.models import Follow
from node.spaces.models import Component, Phase, Space, SpaceRole
from node.spaces.views import UNKNOWN_SPACE, visible_space
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


_ACTIVE_PHASE = select(Phase.id).where(Phase.space_id == bindparam("space_id"), Phase.active.is_(True))


async def active_phase_id(db, space_id: int) -> int | None:
    # Built once: building a statement costs more than running this one.
    return await db.scalar(_ACTIVE_PHASE, {"space_id": space_id})


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


class ProposalPage(NamedTuple):
    space: Space
    component: Component
    proposal: Proposal
    author: User | None
    version: ProposalVersion | None  # the current one
    group: UserGroup | None  # published on behalf of it
    phase_id: int | None  # the space's active phase
    my_support: Support | None  # the viewer's
    can_answer: bool  # node.accounts.roles.can_answer_proposals
    follow: dict | None  # node.notifications.follows.follow_state
    has_amendments: bool  # False: no need to ask for them
    remote_supports: bool  # False: every support is from this node's residents
    given: int  # supports the viewer gave in the component (0 for anonymous visitors)
    shared: bool  # proposed to other nodes' spaces (node.cohosting.shared)


async def load_proposal_page(request: web.Request, db, user) -> ProposalPage:
    """What visible_space and load_proposal find, with the same 404s, and in the same query what
    the proposal's page shows with them: the active phase, the current version, the group,
    whether there are amendments, supports from partner nodes or offers to other nodes, and for a logged-in viewer
    their support, how many supports they gave in the component, whether they may answer and
    whether they follow the proposal (one round trip instead of up to twelve on the busiest page
    of a logged-in resident)."""
    proposal_id = id_param(request, "proposal_id")
    values = {"slug": request.match_info["slug"], "proposal_id": proposal_id,
              "user_id": user.id if user is not None else None}
    row = (await db.execute(_page_query(user is not None), values)).first()
    if row is None or (not row[0].published and not is_admin(request)):
        raise user_error(404, UNKNOWN_SPACE)
    space, proposal, author, component, version, group, phase_id, has_amendments, remote_supports, shared = row[:10]
    if proposal is None:
        raise user_error(404, "This proposal does not exist.")
    if component is None or (not component.published and not is_admin(request)):
        raise user_error(404, "This space has no such component.")
    mine, can_answer, follow, given = None, False, None, 0
    if user is not None:
        mine, can_answer, given = row[10], user.is_admin or bool(row[11]), row[13] or 0
        follow = {"type": "proposal", "id": proposal.id, "following": bool(row[12])}
    return ProposalPage(space, component, proposal, author, version, group, phase_id, mine, can_answer, follow,
                        bool(has_amendments), bool(remote_supports), given, bool(shared))


@lru_cache(maxsize=2)
def _page_query(logged_in: bool):
    """load_proposal_page's statement, built once (its values are bound parameters): building and
    keying a statement of this size costs more than running it. It starts from the space, so
    that a missing proposal (no row joined) is told apart from a missing space (no row)."""
    user_id = bindparam("user_id")
    phase = (select(Phase.id).where(Phase.space_id == Space.id, Phase.active.is_(True))
             .limit(1).scalar_subquery())
    has_amendments = exists().where(Amendment.proposal_id == Proposal.id)
    others = aliased(Support)
    remote_supports = exists().where(others.proposal_id == Proposal.id, others.participant_id.is_not(None))
    shared = exists().where(ProposalShare.proposal_id == Proposal.id)
    query = (select(Space, Proposal, User, Component, ProposalVersion, UserGroup, phase, has_amendments,
                    remote_supports, shared)
             .select_from(Space)
             .outerjoin(Proposal, and_(Proposal.id == bindparam("proposal_id"), Proposal.space_id == Space.id,
                                       not_hidden("proposal", Proposal.id)))
             .outerjoin(User, User.id == Proposal.author_id)
             .outerjoin(Component, and_(Component.id == Proposal.component_id, Component.space_id == Space.id,
                                        Component.kind == "proposals"))
             .outerjoin(ProposalVersion, and_(ProposalVersion.proposal_id == Proposal.id,
                                              ProposalVersion.number == Proposal.version_number))
             .outerjoin(UserGroup, UserGroup.id == Proposal.user_group_id)
             .where(Space.slug == bindparam("slug")))
    if not logged_in:
        return query
    # As has_space_role(db, user, space.id, "evaluator"), is_following(...) and
    # supports.given_supports(...) would ask.
    evaluator = exists().where(SpaceRole.space_id == Space.id, SpaceRole.user_id == user_id,
                               SpaceRole.role == "evaluator")
    following = exists().where(Follow.user_id == user_id, Follow.subject_type == "proposal",
                               Follow.subject_id == Proposal.id)
    given = (select(func.count()).select_from(others)
             .where(others.user_id == user_id, others.component_id == Proposal.component_id).scalar_subquery())
    return query.add_columns(Support, evaluator, following, given).outerjoin(
        Support, and_(Support.proposal_id == Proposal.id, Support.user_id == user_id))


def proposal_url(request: web.Request, space, proposal_id: int, done: str | None = None) -> str:
    url = request.app.router["proposal"].url_for(slug=space.slug, proposal_id=str(proposal_id))
    return str(url.with_query(done=done) if done else url)
