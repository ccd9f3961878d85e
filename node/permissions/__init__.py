"""Per-component, per-action permissions (issue 5): who may create, support, amend or comment.

A component kind declares the actions it lets residents take (`ComponentKind.actions`); an
administrator may restrict each one in the component's settings::

    settings["permissions"] = {"support": {"handlers": ["census"], "postal_codes": ["08001"],
                                           "min_age": 16}}

No entry: any logged-in account may act (participation always needs an account; anonymous
visitors are sent to log in).  With handlers: an active authorisation (node.verification) from
any one of them, whose postal code is in the list and whose birth date makes the person at least
`min_age` on the day of the action, when those conditions are set.

Asking::

    decision = await decide(db, user, component, "support")           # anywhere

    from node.permissions.web import refusal, request_decision         # in a request: cached
    decision = await request_decision(request, db, component, "support")
    if not decision.allowed:
        return refusal(request, decision)   # 403 with the explanation and the link that fixes it

Revoking or expiring an authorisation only stops future actions: nothing done earlier is
touched, and withdrawing one's own support is never refused.
"""
from node.permissions.rules import Decision, Requirement, requirement_of
from node.permissions.service import decide

__all__ = ["Decision", "Requirement", "decide", "requirement_of"]
