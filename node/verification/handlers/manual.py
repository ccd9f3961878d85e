"""Manual: an administrator verified the person (at a desk, by a document) and grants the
authorisation with a reason; residents cannot start it themselves (node.verification.admin_views)."""
from __future__ import annotations

from node.i18n import N_
from node.verification.handlers import Handler

HANDLER = Handler(
    name="manual",
    label=N_("Verified in person"),
    description=N_("The node's administrators can verify you in person: contact them."),
    validity_setting="manual_validity_days",
)
