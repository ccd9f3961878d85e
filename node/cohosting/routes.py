"""Routes and inbox handlers of co-hosted consultations, registered at start-up; the modules that
do the work are imported by the first request or activity that needs them (node.web.lazy): most
nodes co-host nothing most of the time (the idle-memory goal, docs/ARCHITECTURE.md).

To add a page, add a line to ROUTES; to react to an activity type, a line to INBOX_HANDLERS.
"""
from __future__ import annotations

from aiohttp import web

from node.activitypub.inbox import register_inbox_handler
from node.web.lazy import lazy

GET, POST, FORM = ("GET",), ("POST",), ("GET", "POST")
SPACE = "/admin/spaces/{space_id:\\d+}"

# (methods, path, module under node.cohosting, handler, route name)
ROUTES = (
    # Host side: the partner nodes of one space.
    (FORM, SPACE + "/partners", "admin_views", "space_partners", "admin_space_partners"),
    (POST, SPACE + "/partners/{partner_id:\\d+}/end", "admin_views", "space_partner_end", "admin_space_partner_end"),
    # Partner side: the spaces of other nodes this node was invited to co-host.
    (GET, "/admin/partnerships", "admin_views", "partnerships", "admin_partnerships"),
    (POST, "/admin/partnerships/{partnership_id:\\d+}/{action:accept|decline|end}", "admin_views",
     "partnership_action", "admin_partnership_action"),
    # Home side: a resident supports a mirrored proposal of a co-hosted space.
    (POST, "/following/{space_id}/items/{item_id}/take-part", "views", "take_part", "remote_take_part"),
    # Home side: a resident comments on a mirrored proposal (node.cohosting.comments_home).
    (POST, "/following/{space_id}/items/{item_id}/comment", "views", "comment", "remote_comment"),
    # Home side: a resident edits or deletes their comment or proposal (node.cohosting.edits_home).
    (POST, "/following/{space_id}/items/{item_id}/edit", "edits_home", "edit", "remote_item_edit"),
    (POST, "/following/{space_id}/items/{item_id}/delete", "edits_home", "delete", "remote_item_delete"),
    # Home side: a resident proposes into a mirrored space (node.cohosting.proposals_home).
    (POST, "/following/{space_id}/propose", "proposals_home", "propose", "remote_propose"),
    # Home side: a resident votes in a budget of a co-hosted space (node.cohosting.ballots_home).
    (GET, "/following/{space_id}/budgets", "ballots_views", "budgets", "remote_budgets"),
    (POST, "/following/{space_id}/budgets/{number}/vote", "ballots_views", "vote", "remote_budget_vote"),
    # Host side: the space's public signed records (what `civicnode recount` reads).
    (GET, "/spaces/{slug}/records", "records", "records_collection", "space_records"),
    (GET, "/spaces/{slug}/records/head", "records", "records_head", "space_records_head"),
    # Home side: the signed heads of other nodes' records received with their answers.
    (GET, "/witnessed-heads", "records", "witnessed_heads", "witnessed_heads"),
    # Shared proposals: propose one of ours to another node's space; offers received by a space.
    (POST, "/spaces/{slug}/proposals/{proposal_id:\\d+}/share", "shared_views", "share", "proposal_share"),
    (FORM, SPACE + "/offers", "shared_views", "offers", "admin_space_offers"),
)

# (activity type, module under node.cohosting, handler). Each handler ignores what is not about a
# partnership (an Accept of a Follow, a Remove of something else).
INBOX_HANDLERS = (
    ("Invite", "partners", "on_invite"),     # partner side
    ("Remove", "partners", "on_remove"),     # partner side
    ("Accept", "partners", "on_accept"),     # host side: Accept{Invite}
    ("Reject", "partners", "on_reject"),     # host side: Reject{Invite}
    ("Leave", "partners", "on_leave"),       # host side
    # Remote participation (node.cohosting.host: the host; node.cohosting.home: the resident's node).
    ("Like", "host", "on_like"),
    ("Undo", "host", "on_undo"),             # Undo{Like}; Undo{Follow} is node.activitypub.follows'
    ("Create", "comments_host", "on_create"),  # Create{Note}: a partner's resident comments
    ("Create", "ballots_host", "on_create"),   # Create{Ballot}: a partner's resident votes in a budget
    ("Create", "proposals_host", "on_create"),  # Create{Article}: a partner's resident proposes
    ("Update", "edits_host", "on_update"),   # Update{Note|Article}: they edit their comment or proposal
    ("Delete", "edits_host", "on_delete"),   # Delete: they delete their comment or withdraw their proposal
    ("Accept", "home", "on_accept"),         # the host's answer to a support, a comment or a proposal
    ("Reject", "home", "on_reject"),
    # Shared proposals (node.cohosting.shared), both sides.
    ("Offer", "shared", "on_offer"),
    ("Accept", "shared", "on_accept"),       # Accept{Offer}
    ("Reject", "shared", "on_reject"),
    ("Update", "shared", "on_update"),       # the receiving space reports its copy
    ("Announce", "shared", "on_origin_announce"),  # the origin edits or withdraws it
)


# The ids node.cohosting.partners mints under the node actor (node.activitypub.addressed).
_ID = "{key:[0-9a-f-]{36}}"
PARTNERSHIP_ACTIVITY_PATHS = (f"/actor/partners/invites/{_ID}", f"/actor/partners/invites/{_ID}/remove",
                              f"/actor/partnerships/{_ID}/{{verb:accept|reject|leave}}",
                              f"/actor/follows/{_ID}", f"/actor/follows/{_ID}/undo")
# The handlers of a partner's resident's Create, Update and Delete (not the shared proposals'
# Update, which another node's space sends without attestation).
ATTESTED = ("comments_host", "ballots_host", "proposals_host", "edits_host")

# Under a proposal: where it comes from, or the other nodes' spaces it was proposed to.
_SHARES_SECTION = lazy("node.cohosting.shared_views", "proposal_section")


def _attested(activity: dict) -> bool:
    return "attestation" in activity


def setup_routes(app: web.Application) -> None:
    from node.cohosting.records import SIGNING

    app[SIGNING] = {}
    for methods, path, module, handler, name in ROUTES:
        resource = app.router.add_resource(path, name=name)
        target = lazy(f"node.cohosting.{module}", handler)
        for method in methods:
            resource.add_route(method, target)
    # The node actor's partnership activities, at their ids (signed fetch by their addressees).
    served = lazy("node.activitypub.addressed", "partnership_activity")
    for number, path in enumerate(PARTNERSHIP_ACTIVITY_PATHS):
        app.router.add_get(path, served, name=f"partnership_activity_{number}")
    for activity_type, module, handler in INBOX_HANDLERS:
        target = lazy(f"node.cohosting.{module}", handler)
        if module in ATTESTED:
            # Participation from a partner's resident always carries an attestation; any other
            # Create, Update or Delete (a fediverse post, its edit, an account's deletion) is none
            # of these handlers' business and is not dispatched to them.
            target.accepts = _attested
        register_inbox_handler(app, activity_type, target)
    from node.components.proposals.views import PROPOSAL_SECTIONS

    if _SHARES_SECTION not in PROPOSAL_SECTIONS:  # one list for every app of the process
        PROPOSAL_SECTIONS.append(_SHARES_SECTION)
