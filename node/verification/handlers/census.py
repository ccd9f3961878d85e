"""Census: a resident proves they are on the municipal census the admins uploaded by typing
their document number, birth date and postal code (node.verification.census)."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from node.appkeys import DB, SETTINGS
from node.i18n import N_
from node.verification import census, throttle
from node.verification.forms import form_values, locked_message, resident, resident_form
from node.verification.grants import ALREADY_VERIFIED, VerificationError, grant
from node.verification.handlers import Handler
from node.verification.keys import ensure_key

FIELDS = ("document_number", "birth_date", "postal_code")
NO_MATCH = N_("These details are not in the census. Check them (document number as on the document, "
              "birth date, postal code) or contact the node's administrators.")


async def available(db) -> bool:
    return await census.census_meta(db) is not None


async def view(request: web.Request) -> web.Response:
    user = resident(request)
    if request.method != "POST":
        return resident_form(request, HANDLER, {})
    form = await request.post()
    values = form_values(form, FIELDS)
    birth = census.parse_date(values["birth_date"])
    if not census.normalise_document(values["document_number"]) or not values["postal_code"] or birth is None:
        return resident_form(request, HANDLER, values, N_("Fill in the three fields; write the birth date as "
                                                          "YYYY-MM-DD or DD/MM/YYYY."), status=422)
    settings = request.app[SETTINGS]
    await ensure_key(request.app[DB])
    async with request.app[DB].begin() as db:
        locked = await throttle.seconds_locked(db, settings, user.id, HANDLER.name)
        if locked:
            return resident_form(request, HANDLER, values, locked_message(request, locked), status=429)
        digest = await census.match(db, values["document_number"], birth, values["postal_code"])
        if digest is None:
            await throttle.record_attempt(db, user.id, HANDLER.name)
    if digest is None:
        return resident_form(request, HANDLER, values, NO_MATCH, status=422)
    try:
        async with request.app[DB].begin() as db:
            await grant(db, user_id=user.id, handler=HANDLER.name, settings=settings, unique_digest=digest,
                        details={"postal_code": census.normalise_postal_code(values["postal_code"]),
                                 "birth_date": birth.isoformat()})
    except VerificationError as exc:
        return resident_form(request, HANDLER, values, exc.message, status=exc.status)
    except IntegrityError:
        # Another account verified this census line at the same moment: the index chose it.
        return resident_form(request, HANDLER, values, ALREADY_VERIFIED, status=409)
    raise web.HTTPSeeOther(request.app.router["account_verifications"].url_for().with_query(done="census"))


HANDLER = Handler(
    name="census",
    label=N_("Residence (municipal census)"),
    description=N_("Enter your identity document number, birth date and postal code; they are checked "
                   "against the census the node's administrators uploaded."),
    template="verification/census.html",
    view=view,
    available=available,
    validity_setting="census_validity_days",
)
