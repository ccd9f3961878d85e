"""Administrators' verification pages: the list of authorisations (filter, pages, revoke), manual
grants, and the email domains. The census upload is in node.verification.admin_census."""
from __future__ import annotations

from datetime import UTC, datetime, time

from aiohttp import web
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, GETTEXT, SETTINGS
from node.db.base import utcnow
from node.i18n import N_
from node.moderation.log import log_action
from node.verification import domains
from node.verification.census import normalise_postal_code, parse_date
from node.verification.forms import form_values
from node.verification.grants import STATUS_LABELS, VerificationError, grant, page_of, revoke, status
from node.verification.handlers import handlers
from node.verification.models import Authorisation
from node.web.context import require_admin
from node.web.errors import user_error
from node.web.render import render

PER_PAGE = 50
GRANT_FIELDS = ("username", "reason", "postal_code", "birth_date", "expires_on")
DONE = {"granted": N_("The authorisation was granted."), "revoked": N_("The authorisation was revoked."),
        "domains": N_("The list of email domains was saved."), "census": N_("The census was replaced.")}


def done_message(request: web.Request) -> str | None:
    message = DONE.get(request.query.get("done", ""))
    return request[GETTEXT](message) if message else None


def _page(request: web.Request) -> int:
    try:
        return max(1, min(int(request.query.get("page", "1")), 100_000))
    except ValueError:
        return 1


async def list_page(request: web.Request, values: dict | None = None, errors: dict | None = None,
                    status_code: int = 200) -> web.Response:
    require_admin(request)
    found = handlers()
    handler = request.query.get("handler", "")
    handler = handler if handler in found else ""
    page = _page(request)
    now = utcnow()
    async with request.app[DB]() as db:
        rows, total = await page_of(db, handler or None, (page - 1) * PER_PAGE, PER_PAGE)
    gettext = request[GETTEXT]
    return render(request, "verification/admin.html", {
        "rows": [(auth, username, status(auth, now)) for auth, username in rows], "total": total, "page": page,
        "pages": max(1, -(-total // PER_PAGE)), "handler": handler, "handlers": found,
        "status_labels": STATUS_LABELS, "values": values or {}, "done": done_message(request),
        "errors": {name: gettext(msgid) for name, msgid in (errors or {}).items()}}, status=status_code)


async def admin_list(request: web.Request) -> web.Response:
    return await list_page(request)


def _expiry(text: str, errors: dict) -> datetime | None:
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        errors["expires_on"] = N_("Write the expiry date as YYYY-MM-DD.")
        return None
    expires = datetime.combine(day, time(0), tzinfo=UTC)
    if expires <= utcnow():
        errors["expires_on"] = N_("The expiry date must be in the future.")
    return expires


async def grant_manual(request: web.Request) -> web.Response:
    admin = require_admin(request)
    values = form_values(await request.post(), GRANT_FIELDS)
    errors, details = {}, {}
    if not values["reason"]:
        errors["reason"] = N_("Say how the person was verified (the reason is kept in the action log).")
    if values["postal_code"]:
        details["postal_code"] = normalise_postal_code(values["postal_code"])
    if values["birth_date"]:
        birth = parse_date(values["birth_date"])
        if birth is None:
            errors["birth_date"] = N_("Write the birth date as YYYY-MM-DD or DD/MM/YYYY.")
        else:
            details["birth_date"] = birth.isoformat()
    expires_at = _expiry(values["expires_on"], errors)
    async with request.app[DB].begin() as db:
        member = await db.scalar(select(User).where(User.username == values["username"].lstrip("@").lower()))
        if member is None:
            errors["username"] = N_("No member of this node has this username.")
        if errors:
            return await list_page(request, values, errors, 422)
        auth = await grant(db, user_id=member.id, handler="manual", details=details, settings=request.app[SETTINGS],
                           expires_at=expires_at, granted_by=admin, reason=values["reason"])
        await log_action(db, admin, "verification.grant", subject_type="authorisation", subject_id=auth.id,
                   reason=values["reason"], data={"handler": "manual", "user_id": member.id})
    raise web.HTTPSeeOther(request.app.router["admin_verifications"].url_for().with_query(done="granted"))


async def revoke_view(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            auth = await db.get(Authorisation, int(request.match_info["auth_id"]))
            if auth is None:
                raise user_error(404, "This authorisation does not exist.")
            await revoke(db, auth, admin, str(form.get("reason", "")))
    except VerificationError as exc:
        raise user_error(exc.status, exc.message) from None
    raise web.HTTPSeeOther(request.app.router["admin_verifications"].url_for().with_query(done="revoked"))


async def domains_page(request: web.Request) -> web.Response:
    admin = require_admin(request)
    error = None
    if request.method == "POST":
        text = str((await request.post()).get("domains", ""))
        found, invalid = domains.parse_domains(text)
        if invalid:
            error = request[GETTEXT](N_("These are not domain names: %(invalid)s.")) % {"invalid": ", ".join(invalid)}
        else:
            async with request.app[DB].begin() as db:
                await domains.set_domains(db, found)
                await log_action(db, admin, "verification.domains", data={"domains": found})
            raise web.HTTPSeeOther(request.app.router["admin_verification_domains"].url_for()
                                   .with_query(done="domains"))
        return render(request, "verification/admin_domains.html", {"text": text, "error": error}, status=422)
    async with request.app[DB]() as db:
        current = await domains.allowed_domains(db)
    return render(request, "verification/admin_domains.html", {
        "text": "\n".join(current), "error": None, "done": done_message(request),
        "smtp": bool(request.app[SETTINGS].smtp_host)})
