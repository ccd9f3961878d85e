"""Permissions in a request: decisions computed once per (component, action), the explanation
in the visitor's language, the 403 page of a refused action, and the public summary of what
each action requires."""
from __future__ import annotations

from aiohttp import web
from babel.dates import format_date

from node.appkeys import GETTEXT, LOCALE, USER
from node.permissions.rules import Decision, requirement_of
from node.permissions.service import authorisations_of, component_actions, decide
from node.verification.service import HANDLER_LABELS
from node.web.render import render

# {(component id, action): Decision} and the viewer's authorisations, for this request only: a
# list page asks once however many rows it shows, and several actions share one query.
DECISIONS = web.RequestKey("permission_decisions", dict)
AUTHORISATIONS = web.RequestKey("permission_authorisations", list)


async def request_decision(request: web.Request, db, component, action: str) -> Decision:
    cache = request.get(DECISIONS)
    if cache is None:
        cache = request[DECISIONS] = {}
    key = (component.id, action)
    if key not in cache:
        user = request.get(USER)
        authorisations = request.get(AUTHORISATIONS)
        if user is not None and authorisations is None and requirement_of(component, action) is not None:
            authorisations = request[AUTHORISATIONS] = await authorisations_of(db, user.id)
        cache[key] = await decide(db, user, component, action, authorisations=authorisations)
    return cache[key]


async def request_decisions(request: web.Request, db, component, *actions: str) -> dict[str, Decision]:
    return {action: await request_decision(request, db, component, action) for action in actions}


def explain(request: web.Request, decision: Decision) -> str:
    gettext = request.get(GETTEXT) or (lambda s: s)
    locale = request.get(LOCALE, "en")
    return decision.text(gettext, lambda day: format_date(day, "long", locale=locale))


def fix_link(request: web.Request, decision: Decision, back: str | None = None) -> str | None:
    """Where to fix it; the login page comes back to `back` (the page the visitor was on)."""
    if decision.fix == "login":
        return str(request.app.router["login"].url_for().with_query(next=back or request.path_qs))
    return decision.fix_url


def refusal(request: web.Request, decision: Decision, back: str | None = None) -> web.Response:
    """The page answering a refused action: 403, what is missing, and the link that fixes it."""
    return render(request, "permissions/refused.html", {
        "explanation": explain(request, decision), "fix": decision.fix, "fix_url": fix_link(request, decision, back),
        "back": back}, status=403)


def notice(request: web.Request, decision: Decision, back: str | None = None) -> dict | None:
    """What permissions/_notice.html shows in place of a refused button, None when allowed."""
    if decision.allowed:
        return None
    return {"explanation": explain(request, decision), "fix": decision.fix,
            "fix_url": fix_link(request, decision, back or request.path_qs)}


def public_requirements(request: web.Request, component) -> list[dict]:
    """Per restricted action, what it requires, for the component's public page: residents
    should know before they click (nothing personal: the component's own settings only)."""
    gettext = request.get(GETTEXT) or (lambda s: s)
    found = []
    for action, label in component_actions(component):
        requirement = requirement_of(component, action)
        if requirement is not None:
            found.append({"action": action, "label": gettext(label),
                          "handlers": ", ".join(gettext(HANDLER_LABELS.get(h, h)) for h in requirement.handlers),
                          "several": len(requirement.handlers) > 1,
                          "postal_codes": ", ".join(requirement.postal_codes), "min_age": requirement.min_age})
    return found
