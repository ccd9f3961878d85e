"""Why a host refuses a remote participation: the codes a Reject carries (``reason``), with the
sentence the resident's home node shows, in the resident's language. A code this node does not
know is shown with the host's own words (the Reject's ``summary``)."""
from __future__ import annotations

from node.i18n import N_

REASONS = {
    "not_partner": N_("Your node is not a partner of this consultation: its residents cannot take part in it "
                      "from here."),
    "not_eligible": N_("This consultation asks for a verification your node did not vouch for. Check your "
                       "verifications on your account page."),
    "attestation_missing": N_("Your node did not vouch for you, so the consultation could not count it."),
    "attestation_forged": N_("The host could not check your node's signature on its attestation."),
    "attestation_other_space": N_("Your node's attestation was for another consultation."),
    "attestation_expired": N_("Your node's attestation had expired when the host received it. Try again."),
    "unsigned": N_("The host could not check your signature."),
    "not_found": N_("This proposal no longer exists on its node."),
    "proposal_closed": N_("This proposal was withdrawn or rejected: its supports are frozen."),
    "supports_closed": N_("Supports are not open at the moment in this consultation."),
    "limit_reached": N_("You have given all the supports this consultation allows."),
    "already_supported": N_("You already support this proposal."),
    "not_supported": N_("You did not support this proposal."),
    # Comments (node.cohosting.comments_host).
    "comments_closed": N_("Comments are closed on this proposal."),
    "reply_too_deep": N_("Replies cannot be nested that deep there: reply to the comment it answers instead."),
    "reply_target_gone": N_("The comment you replied to was deleted or hidden on its node."),
    "comment_refused": N_("The host could not publish your comment as it was sent."),
    # Ballots of a co-hosted budget (node.cohosting.ballots_host).
    "voting_closed": N_("Voting is not open in this budget at the moment."),
    "already_voted": N_("You have already voted in this budget: a ballot is final once it is cast."),
    "ballot_invalid": N_("The host refused your ballot: it does not respect this budget's rules (its cost, the "
                         "number of projects or points, or a project no longer on the ballot)."),
    "budget_restricted": N_("This budget is for residents of some postal codes only, and your node's attestation "
                            "did not cover its postal codes as they are now. Reload the budget and try again."),
    "postal_code_not_attested": N_("This budget is for residents of some postal codes only, and your node did not "
                                   "vouch that you live in one of them."),
    # Proposals (node.cohosting.proposals_host).
    "proposals_closed": N_("New proposals are not accepted in this consultation at the moment."),
    "title_too_short": N_("The host found the title of your proposal too short."),
    "title_too_long": N_("The host found the title of your proposal too long."),
    "body_too_short": N_("The host found the text of your proposal too short."),
    "body_too_long": N_("The host found the text of your proposal too long."),
    "proposal_refused": N_("The host could not publish your proposal as it was sent."),
    # Changes of a resident's own comment or proposal (node.cohosting.edits_host).
    "not_author": N_("Only its author can change or delete it, and the host has it under another person's name."),
    "not_published_here": N_("The host has no comment or proposal of yours by that address."),
    "comment_gone": N_("This comment was already deleted on its node."),
    "edit_window_closed": N_("The time for editing this proposal is over on its node. You can still comment on it."),
    "proposal_answered": N_("This proposal was answered or withdrawn on its node: it can no longer be changed."),
}


def reason_text(gettext, code: str | None, summary: str | None = None) -> str:
    if code in REASONS:
        return gettext(REASONS[code])
    return summary or gettext(N_("The host node refused it without saying why."))
