"""Email domain: a member of an organisation (a collective, a company) proves it by following a
link mailed to their address at one of the domains the admins listed. The link only shows a
button: mail scanners that open links must not confirm anything."""
from __future__ import annotations

import logging
import secrets

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from node.appkeys import DB, GETTEXT, SETTINGS
from node.db.base import utcnow
from node.i18n import N_
from node.mail import send_mail
from node.verification import domains, throttle
from node.verification.forms import form_values, locked_message, resident, resident_form
from node.verification.grants import (ALREADY_VERIFIED, CONFIRMATION_TTL, VerificationError, default_expiry,
                                      free_identity)
from node.verification.handlers import Handler
from node.verification.keys import ensure_key, keyed_digest, node_key, token_digest
from node.verification.models import Authorisation
from node.web.errors import user_error
from node.web.render import render

log = logging.getLogger("civicnode.verification")
NAME = "email_domain"


async def available(db) -> bool:
    return bool(await domains.allowed_domains(db))


async def _refusal(db, address: str, user_id: int) -> tuple[str | None, int, dict]:
    domain = domains.address_domain(address)
    allowed = await domains.allowed_domains(db)
    if domain is None:
        return N_("Enter an email address, like name@example.org."), 422, {}
    if domain not in allowed:
        return (N_("Addresses at %(domain)s cannot be verified here. Accepted domains: %(allowed)s."), 422,
                {"domain": domain, "allowed": ", ".join(allowed) or "—"})
    digest = keyed_digest(await node_key(db), "email", address.strip().lower())
    holder = await db.scalar(select(Authorisation.user_id).where(
        Authorisation.handler == NAME, Authorisation.unique_digest == digest, Authorisation.revoked_at.is_(None)))
    if holder is not None and holder != user_id:
        return ALREADY_VERIFIED, 409, {}
    return None, 200, {"domain": domain, "digest": digest}


async def view(request: web.Request) -> web.Response:
    user = resident(request)
    async with request.app[DB]() as db:
        allowed = await domains.allowed_domains(db)
    if request.method != "POST":
        return resident_form(request, HANDLER, {}, allowed=allowed)
    values = form_values(await request.post(), ("address",))
    settings = request.app[SETTINGS]
    if not settings.smtp_host:
        return resident_form(request, HANDLER, values, N_("This node cannot send mail yet (its administrators have "
                                                          "not configured SMTP), so addresses cannot be verified."),
                             status=503, allowed=allowed)
    await ensure_key(request.app[DB])
    token = secrets.token_urlsafe(32)
    async with request.app[DB].begin() as db:
        locked = await throttle.seconds_locked(db, settings, user.id, NAME)
        if locked:
            return resident_form(request, HANDLER, values, locked_message(request, locked), status=429, allowed=allowed)
        error, status, found = await _refusal(db, values["address"], user.id)
        if error:
            return resident_form(request, HANDLER, values, error, status=status, allowed=allowed, error_values=found)
        db.add(Authorisation(user_id=user.id, handler=NAME, details={"domain": found["domain"]},
                             pending_digest=found["digest"], confirmation_digest=token_digest(token),
                             created_at=utcnow()))
        await throttle.record_attempt(db, user.id, NAME)
    gettext = request[GETTEXT]
    link = settings.base_url + str(request.app.router["verify_email_confirm"].url_for(token=token))
    body = gettext("Someone, probably you, asked to verify this address for the account @%(username)s on "
                   "%(node)s. To confirm, open this link within 24 hours and press the button:\n\n%(link)s\n\n"
                   "If it was not you, ignore this message.") % {
        "username": user.username, "node": settings.node_name, "link": link}
    try:
        await send_mail(settings, values["address"], gettext("Confirm your email address"), body)
    except Exception:
        log.exception("could not send the verification mail")
        return resident_form(request, HANDLER, values, N_("The mail could not be sent. Try again later."),
                             status=503, allowed=allowed)
    return render(request, "verification/email_sent.html", {"address": values["address"]})


async def _pending(request: web.Request, db) -> Authorisation:
    user = resident(request)
    auth = await db.scalar(select(Authorisation).where(
        Authorisation.confirmation_digest == token_digest(request.match_info["token"])))
    if auth is None or auth.handler != NAME:
        raise user_error(404, "This confirmation link is not valid. Ask for a new one from your account.")
    if auth.user_id != user.id:
        raise user_error(403, "This link confirms an address for another account. Log in with that account.")
    if auth.confirmed_at is not None or auth.revoked_at is not None:
        raise user_error(409, "This link was already used.")
    if auth.created_at + CONFIRMATION_TTL <= utcnow():
        raise user_error(422, "This confirmation link has expired. Ask for a new one from your account.")
    return auth


async def confirm(request: web.Request) -> web.Response:
    if request.method != "POST":
        async with request.app[DB]() as db:
            auth = await _pending(request, db)
        return render(request, "verification/email_confirm.html", {"auth": auth})
    try:
        async with request.app[DB].begin() as db:
            auth = await _pending(request, db)
            now = utcnow()
            await free_identity(db, auth.user_id, NAME, auth.pending_digest, now)
            auth.unique_digest, auth.confirmed_at = auth.pending_digest, now
            auth.expires_at = default_expiry(request.app[SETTINGS], NAME, now)
            await db.flush()
    except VerificationError as exc:
        raise user_error(exc.status, exc.message) from None
    except IntegrityError:
        raise user_error(409, ALREADY_VERIFIED) from None
    raise web.HTTPSeeOther(request.app.router["account_verifications"].url_for().with_query(done="email_domain"))


HANDLER = Handler(
    name=NAME,
    label=N_("Email address of an organisation"),
    description=N_("Enter your address at your organisation; we mail you a link to confirm it."),
    template="verification/email_domain.html",
    view=view,
    available=available,
    validity_setting="email_domain_validity_days",
)
