"""Home side of remote ballots: a resident of this node votes in a budget of a space this node
co-hosts, from the space's mirror here (``/following/<space>/budgets``).

Budgets are not announced to followers: the page reads the host's ``<space>/budgets.json``
(node.components.budgets.public) when the resident opens it, with the node's fetcher (private
addresses only where the settings allow them). The resident's choices go to the host in a
``Create`` whose object is a ``Ballot`` signed by the resident (FEP-8b32) naming the budget, with
the choices (``selection``) and the receipt in the activity, itself signed by the resident and
carrying this node's eligibility attestation (node.cohosting.home._attestation). A budget
restricted to postal codes (``postalCodes``) takes the ballot only if the resident holds an
active verification here with one of them; the attestation then says so for this budget and
these codes (``residesIn``), never which code is the resident's.

The receipt is computed here, as the host computes its own residents' receipts
(service.canonical_ballot over the host's budget URI and project ids, with a salt drawn here):
the salt is shown to the resident once, on the page answering their vote, and kept nowhere, so
only they can show that a receipt of the public ballot list is theirs. The host stores the
receipt as given (it never sees the salt) and lists it with the choices it counted; the
resident checks there that both match what this page showed.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from node.activitypub import uris
from node.activitypub.follow_models import RemoteSpace
from node.appkeys import DB, SETTINGS
from node.cohosting.home import ParticipationError, _attestation, _context, _signed
from node.cohosting.models import OutgoingParticipation
from node.cohosting.service import active_partnership
from node.db.base import utcnow
from node.i18n import N_

MAX_PROJECTS = 10_000
MAX_POSTAL_CODES = 500  # as many as a budget may have (node.components.budgets.service.check_budget)


@dataclass(frozen=True)
class Sent:
    row: OutgoingParticipation
    receipt: str
    salt: str
    canonical: str


async def host_budgets(app, space: RemoteSpace) -> list[dict]:
    """The budgets the host publishes for ``space`` now (ParticipationError when unreadable)."""
    from node.activitypub.inbox import remote_actors

    url = f"{space.uri}/budgets.json"
    try:
        document = await remote_actors(app).fetcher.get_json(url, accept="application/json")
    except Exception as exc:  # down, not a civicnode, too large: the page says so, nothing is sent
        raise ParticipationError(N_("The budgets of this space could not be read from %(host)s just now (%(error)s). "
                                    "Try again later."), 502, host=space.host, error=str(exc)[:200]) from None
    budgets = document.get("budgets") if isinstance(document, dict) else None
    if not isinstance(budgets, list):
        raise ParticipationError(N_("%(host)s did not answer with budgets of this space."), 502, host=space.host)
    # Only budgets of this very space, on its node: the page posts ballots to the space's inbox.
    return [b for b in budgets if isinstance(b, dict) and isinstance(b.get("id"), str)
            and b["id"].startswith(f"{space.uri}/c/") and isinstance(b.get("number"), int)
            and isinstance(b.get("projects"), list)]


def postal_codes_of(budget: dict) -> list[str]:
    """The postal codes a budget of budgets.json is restricted to ([] when it is not, or when its
    host does not say which)."""
    codes = budget.get("postalCodes") if budget.get("restricted") else None
    if (not isinstance(codes, list) or len(codes) > MAX_POSTAL_CODES
            or not all(isinstance(c, str) and 0 < len(c.strip()) <= 16 for c in codes)):
        return []
    return [c.strip() for c in codes]


async def sent_ballots(db, user_id: int, budget_uris: list[str]) -> dict[str, OutgoingParticipation]:
    """The resident's latest ballot sent for each of ``budget_uris``."""
    if not budget_uris:
        return {}
    rows = await db.scalars(select(OutgoingParticipation)
                            .where(OutgoingParticipation.user_id == user_id, OutgoingParticipation.kind == "ballot",
                                   OutgoingParticipation.object_uri.in_(budget_uris))
                            .order_by(OutgoingParticipation.id))
    return {row.object_uri: row for row in rows}


def choices_from_form(budget: dict, form) -> dict[int, int | None]:
    """The resident's choices as the form gives them: project number -> points (cumulative) or
    None. Only the shape is checked here; the budget's rules are the host's to apply."""
    projects = {p.get("number"): p for p in budget["projects"] if isinstance(p, dict)
                and isinstance(p.get("number"), int) and p.get("feasibility") != "unfeasible"}
    choices: dict[int, int | None] = {}
    if budget.get("ballotKind") == "cumulative":
        for key in form:
            if not key.startswith("points_"):
                continue
            raw, text = key.removeprefix("points_"), str(form.get(key, "")).strip()
            if not raw.isdigit() or int(raw) not in projects:
                raise ParticipationError(N_("This project is not in this budget. Reload the page and try again."), 422)
            if text in ("", "0"):
                continue
            if not text.isdigit() or len(text) > 9:
                raise ParticipationError(N_("Enter a whole number of points, 0 or more."), 422)
            choices[int(raw)] = int(text)
    else:
        for raw in form.getall("project", []):
            raw = str(raw)
            if not raw.isdigit() or int(raw) not in projects or int(raw) in choices:
                raise ParticipationError(N_("This project is not in this budget. Reload the page and try again."), 422)
            choices[int(raw)] = None
    if not choices or len(choices) > MAX_PROJECTS:
        raise ParticipationError(N_("Choose at least one project before sending your ballot."), 422)
    return choices


async def send_ballot(app, user, space_id: int, number: int, form) -> Sent:
    """Send the resident's ballot in the host's budget ``number``. Raises ParticipationError when
    this node refuses before sending."""
    from node.activitypub.outbox import enqueue
    from node.components.budgets.public import project_uri
    from node.components.budgets.service import canonical_ballot, receipt_of

    async with app[DB]() as db:
        space = await db.get(RemoteSpace, space_id)
        if space is None:
            raise ParticipationError(N_("Nothing from another node has this address here."), 404)
        partnership = await active_partnership(db, space.uri)
    if partnership is None:
        raise ParticipationError(N_("This node is not a partner of this consultation: you can read it here, "
                                    "but vote only on its own node."))
    budget = next((b for b in await host_budgets(app, space) if b["number"] == number), None)
    if budget is None:
        raise ParticipationError(N_("This budget does not exist."), 404)
    codes = postal_codes_of(budget)
    if budget.get("restricted") and not codes:  # a host that does not publish the codes
        raise ParticipationError(N_("This budget is for residents of some postal codes only: vote on its own node."))
    if not budget.get("votingOpen"):
        raise ParticipationError(N_("Voting is not open in this budget at the moment."))
    choices = choices_from_form(budget, form)
    uri = budget["id"]
    salt = secrets.token_hex(16)
    canonical = canonical_ballot(uri, choices, salt)
    receipt = receipt_of(canonical)
    base = app[SETTINGS].base_url
    person = uris.user_actor(base, user.username)
    published = utcnow().isoformat().replace("+00:00", "Z")
    async with app[DB].begin() as db:
        earlier = (await sent_ballots(db, user.id, [uri])).get(uri)
        if earlier is not None and earlier.answer != "rejected":
            raise ParticipationError(N_("You have already voted in this budget: a ballot is final once it is cast."),
                                     409)
        ballot = await _signed(db, "user", user.id, person, {
            "id": f"{person}/ballots/{uuid.uuid4()}", "type": "Ballot", "attributedTo": person, "context": uri,
            "audience": space.uri, "published": published})
        selection = [{"id": project_uri(uri, n)} if points is None else {"id": project_uri(uri, n), "points": points}
                     for n, points in sorted(choices.items())]
        activity = {"@context": _context(), "id": f"{person}/participations/{uuid.uuid4()}", "type": "Create",
                    "actor": person, "object": ballot, "selection": selection, "receipt": receipt,
                    "audience": space.uri, "to": [space.uri], "published": published,
                    "attestation": await _attestation(db, base, user, space.uri, partnership.conditions,
                                                      (uri, codes) if codes else None)}
        activity = await _signed(db, "user", user.id, person, activity)
        row = OutgoingParticipation(user_id=user.id, space_uri=space.uri, object_uri=uri, kind="ballot",
                                    activity_id=activity["id"], activity=activity)
        db.add(row)
        await enqueue(db, actor_type="user", actor_id=user.id, activity=activity, inboxes=[space.inbox])
    return Sent(row, receipt, salt, canonical)
