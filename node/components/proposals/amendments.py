"""Amendments: anyone logged in proposes an amended title and body; the proposal's author
accepts (the amended text becomes a new version, crediting its writer) or rejects it."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import bindparam, select

from node.accounts.models import User
from node.components.proposals.models import Amendment, Proposal
from node.components.proposals.service import ProposalError, check_text, record_proposal_event, refuse
from node.components.proposals.settings import settings_of
from node.components.proposals.versions import add_version
from node.i18n import N_


async def propose_amendment(db, proposal: Proposal, *, component, user, values: dict) -> Amendment:
    settings = settings_of(component)
    if not settings["amendments_enabled"]:
        raise refuse(N_("Amendments are not enabled in this component."), 403)
    if proposal.state == "withdrawn":
        raise refuse(N_("A withdrawn proposal cannot be amended."), 409)
    if proposal.state in ("accepted", "rejected"):
        raise refuse(N_("An answered proposal cannot be amended."), 409)
    if user.id == proposal.author_id:
        raise refuse(N_("You wrote this proposal: edit it instead of amending it."), 403)
    data = check_text({**values, "category": proposal.category, "address": proposal.address}, settings)
    if data["title"] == proposal.title and data["body"] == proposal.body:
        raise ProposalError({"body": N_("The amendment must change the title or the text.")})
    amendment = Amendment(proposal_id=proposal.id, author_id=user.id, title=data["title"],
                          body=data["body"], state="pending")
    db.add(amendment)
    await db.flush()
    await record_proposal_event(db, "proposal.amendment_proposed", proposal, actor_id=user.id,
                                amendment_id=amendment.id, amender_id=user.id)
    return amendment


async def decide_amendment(db, amendment: Amendment, proposal: Proposal, *, space, user, accept: bool,
                           base_url: str) -> None:
    if user.id != proposal.author_id:
        raise refuse(N_("Only the author of the proposal can accept or reject its amendments."), 403)
    if amendment.state != "pending":
        raise refuse(N_("This amendment has already been decided."), 409)
    if proposal.state == "withdrawn":
        raise refuse(N_("A withdrawn proposal cannot be amended."), 409)
    if accept and proposal.state in ("accepted", "rejected"):
        raise refuse(N_("An answered proposal cannot be amended."), 409)
    amendment.decided_at = datetime.now(timezone.utc)
    if accept:
        author = await db.get(User, proposal.author_id)
        version = await add_version(db, proposal, base_url=base_url, space_slug=space.slug,
                                    author_username=author.username if author else None,
                                    title=amendment.title, body=amendment.body, category=proposal.category,
                                    address=proposal.address, amendment_id=amendment.id)
        amendment.state, amendment.version_number = "accepted", version.number
        kind = "proposal.amended"
    else:
        amendment.state = "rejected"
        kind = "proposal.amendment_rejected"
    await record_proposal_event(db, kind, proposal, actor_id=user.id, amendment_id=amendment.id,
                                amender_id=amendment.author_id)
    await db.flush()


# Built once (read on every proposal's page): building a statement costs more than running it.
_AMENDMENTS = (select(Amendment, User).outerjoin(User, User.id == Amendment.author_id)
               .where(Amendment.proposal_id == bindparam("proposal_id")).order_by(Amendment.id))


async def amendments_of(db, proposal_id: int) -> list[tuple[Amendment, User | None]]:
    rows = await db.execute(_AMENDMENTS, {"proposal_id": proposal_id})
    return [(amendment, author) for amendment, author in rows.all()]
