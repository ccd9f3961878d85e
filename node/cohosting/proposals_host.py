"""Host side of remote proposals: a partner node's resident writes a proposal into a co-hosted
space from their own node (``Create{Article}``).

Only an Article addressed to one of our published spaces (``audience``), in an activity that
carries an ``attestation``, is a participation; any other Create is left to its own handlers
(node.cohosting.comments_host for Notes) or ignored, not answered.

Checks, in order (each refusal is answered with a ``Reject`` whose ``reason`` is a REASONS code):
the activity carries its author's FEP-8b32 proof (``unsigned``) and the Article is the actor's
own (``proposal_refused``); the attestation and the partnership hold, exactly as for a support
(node.cohosting.answer.eligible); then the proposals component's own rules, by the code local
proposals go through (node.components.proposals.service.create_proposal): a published proposals
component of the space that accepts new proposals (``proposals_closed``; ``target`` may name one,
else the first in the space's order that accepts them), the title's and text's lengths
(``title_too_short`` …). The component's "create" permissions are about this node's own
verifications; for a partner's resident the partnership's conditions stand in for them.

The new proposal is the resident's: its versions' canonical JSON names their actor as author,
its page and the list show "Name (their node)", and the space's followers receive it like any
proposal, attributed to their actor (node.components.proposals.publish). The answered activity
is kept, as received, in the space's public records (kind ``proposal``); the Accept names the
new proposal (``result``).
"""
from __future__ import annotations


from sqlalchemy import select

from federation.vocab import id_of, types_of
from node.activitypub import uris
from node.activitypub.inbox import InboxContext
from node.appkeys import DB, SETTINGS
from node.cohosting.answer import Outcome, Refusal, answer, attested, published_space, refusals
from node.db.base import utcnow
from node.spaces.models import Component, Space


def addressed_space(base_url: str, activity: dict, article: dict) -> str | None:
    """The slug of our space the Article is written into (its ``audience``, else the activity's)."""
    from node.activitypub.follows import local_space_slug

    return local_space_slug(base_url, id_of(article.get("audience")) or id_of(activity.get("audience")))


def _component_id(base_url: str, slug: str, target) -> int | None:
    """The component a ``target`` names (``/spaces/<slug>/c/<id>``), if it is one of this space's."""
    uri = id_of(target) or ""
    prefix = f"{base_url}/spaces/{slug}/c/"
    rest = uri[len(prefix):] if uri.startswith(prefix) else ""
    return int(rest) if rest.isdigit() and 0 < int(rest) < 2**31 else None


async def receiving_component(db, base_url: str, space: Space, target) -> Component:
    """The published proposals component that takes the proposal: the one ``target`` names, else
    the first of the space (in its order) that accepts new proposals. Refusal when none does."""
    from node.components.proposals.settings import settings_of

    components = (await db.scalars(select(Component).where(
        Component.space_id == space.id, Component.kind == "proposals", Component.published.is_(True))
        .order_by(Component.position, Component.id))).all()
    if target is not None:
        wanted = _component_id(base_url, space.slug, target)
        components = [c for c in components if c.id == wanted]
        if not components:
            raise Refusal("proposals_closed", f"{id_of(target)!r} is not a published proposals component here")
    if not components:
        raise Refusal("proposals_closed", "the space has no published proposals component")
    accepting = [c for c in components if settings_of(c)["creation_enabled"]]
    # None accepts: the first is passed on, and create_proposal refuses it by its own rule.
    return accepting[0] if accepting else components[0]


def proposal_reason(exc) -> str:
    """The REASONS code of a refusal by node.components.proposals.service.create_proposal."""
    from node.components.proposals.service import CREATION_CLOSED

    if exc.errors.get("_") == CREATION_CLOSED:
        return "proposals_closed"
    for field in ("title", "body"):
        error = exc.errors.get(field)
        msgid = error[0] if isinstance(error, tuple) else error
        if isinstance(msgid, str):
            return f"{field}_too_short" if msgid.startswith("Write at least") else f"{field}_too_long"
    return "proposal_refused"


def article_text(article: dict) -> tuple[str, str]:
    """(title, text as typed) of the resident's Article: ``name`` is plain text; the text is its
    markdown ``source`` or markdown/plain ``content`` (the host renders it with its own
    sanitiser and never takes HTML from another node). ValueError when unusable."""
    from node.cohosting.comments_host import comment_text

    name = article.get("name")
    if not isinstance(name, str):
        raise ValueError("the Article has no plain-text name")
    return name, comment_text(article)


async def on_create(ctx: InboxContext, activity: dict, actor) -> None:
    article = activity.get("object")
    if not isinstance(article, dict) or "Article" not in types_of(article) or "attestation" not in activity:
        return  # not a partner's resident's proposal
    from node.cohosting.edits_host import known, remember
    from node.cohosting.records import node_signing_key
    from node.components.proposals.activities import proposal_url
    from node.components.proposals.service import ProposalError, create_proposal

    base = ctx.app[SETTINGS].base_url
    slug = addressed_space(base, activity, article)
    if slug is None:
        return  # not written into one of our spaces: not ours to answer
    # The key is read before the transaction: it may need its own.
    now, signing = utcnow(), await node_signing_key(ctx.app)
    async with ctx.app[DB].begin() as db:
        space = await published_space(db, slug)
        if space is None:
            return
        outcome = Outcome()
        with refusals(outcome, "proposal", activity):
            participant = await attested(ctx, db, space, activity, actor, now, outcome, obj=article,
                                         refused="proposal_refused", name=True)
            try:
                title, body = article_text(article)
            except ValueError as exc:
                raise Refusal("proposal_refused", str(exc), participant) from None
            if await known(db, article):
                raise Refusal("proposal_refused", "an Article of this id was published here already", participant)
            try:
                component = await receiving_component(db, base, space, activity.get("target"))
            except Refusal as refusal:
                raise Refusal(refusal.reason, refusal.detail, participant) from None
            try:
                async with db.begin_nested():
                    proposal = await create_proposal(db, space=space, component=component, author=None,
                                                     remote_participant=participant, base_url=base,
                                                     values={"title": title, "body": body})
            except ProposalError as exc:
                raise Refusal(proposal_reason(exc), str(exc), participant) from None
            remember(db, article, participant, space, proposal_id=proposal.id)  # for its Update or Delete
            outcome.result = proposal_url(base, slug, proposal.id)
        await answer(ctx, db, space, actor, activity, outcome, kind="proposal",
                     object_uri=outcome.result or uris.space_actor(base, slug), now=now, signing=signing)
