"""Moderation pages: the report form (any logged-in user), the moderators' queue with hide and
unhide, blocking users, and the administrators' action log. Plain forms: no JavaScript needed."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from node.accounts.models import User
from node.accounts.roles import require_role
from node.appkeys import DB, GETTEXT, SETTINGS, USER
from node.i18n import N_
from node.moderation import service
from node.moderation.models import REASONS, AdminAction, Moderation
from node.moderation.service import DETAILS_LIMIT, ModerationError
from node.web.errors import user_error
from node.web.render import render

PER_PAGE = 50
REASON_LABELS = {"spam": N_("Spam"), "offensive": N_("Offensive, harassment or hate"),
                 "does_not_belong": N_("Does not belong here (off topic, illegal, personal data)"),
                 "other": N_("Other")}
DONE = {"reported": N_("Thank you: moderators will look at your report."), "hidden": N_("The content is hidden."),
        "unhidden": N_("The content is shown again."), "blocked": N_("The account is blocked."),
        "unblocked": N_("The account is unblocked."),
        "hidden_here": N_("The content is hidden in this node's copy. It is still published on the node it "
                          "comes from: only that node's moderators can remove it there.")}
REPORTED_REMOTE = {
    True: N_("Thank you: this node's moderators will look at your report, and it was sent, without your "
             "name, to the moderators of %(host)s, where this content is published."),
    False: N_("Thank you: this node's moderators will look at your report. It was not sent to %(host)s, "
              "where this content is published, because this node does not federate with it any more.")}
MAX_ID = 2**31


def _int(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _page(request: web.Request) -> int:
    return max(1, min(_int(request.query.get("page")) or 1, 100_000))


def _refused(request: web.Request, exc: ModerationError) -> web.HTTPException:
    return user_error(exc.status, request[GETTEXT](exc.message))


async def _subject(db, request: web.Request, subject_type, subject_id) -> service.Subject:
    """The item a form names: this node's proposal, debate or comment, or a copy of another
    node's (``remote_item``, an id of the mirror: an id of the other node names nothing here)."""
    subject = None
    number = _int(subject_id)
    if number is not None and 0 < number < MAX_ID:
        subject = await service.load_subject(db, str(subject_type), number)
    user = request.get(USER)
    if subject is None or not (subject.published or (user and user.is_admin)):
        raise user_error(404, "There is nothing to report at this address.")
    return subject


def _report_page(request, subject, values, error=None, status=200):
    return render(request, "moderation/report.html", {
        "subject": subject, "values": values, "error": error, "reasons": REASON_LABELS,
        "details_limit": DETAILS_LIMIT}, status=status)


async def report_form(request: web.Request) -> web.Response:
    async with request.app[DB]() as db:
        subject = await _subject(db, request, request.query.get("subject_type"), request.query.get("subject_id"))
    if request.get(USER) is None:
        raise web.HTTPSeeOther(request.app.router["login"].url_for().with_query(next=request.path_qs))
    return _report_page(request, subject, {})


async def report(request: web.Request) -> web.Response:
    form = await request.post()
    async with request.app[DB]() as db:
        subject = await _subject(db, request, form.get("subject_type"), form.get("subject_id"))
    user = request.get(USER)
    if user is None:
        raise web.HTTPSeeOther(request.app.router["login"].url_for().with_query(next=subject.url))
    values = {"reason": str(form.get("reason", "")), "details": str(form.get("details", ""))}
    threshold = request.app[SETTINGS].moderation_hide_threshold
    forward, third = False, None
    if subject.origin_host:  # another node's content: its moderators get the report too
        from node.moderation import federation

        forward = not await federation.origin_refused(request.app, subject)
        # Written on a third node (a partner's resident, a shared proposal): that node's too.
        third = await federation.third_node(request.app, subject)
    for attempt in (1, 2):
        try:
            async with request.app[DB].begin() as db:
                await service.report(db, subject, user, values["reason"], values["details"], threshold)
                if forward or third:
                    await federation.forward_report(request.app, db, subject, values["reason"], values["details"],
                                                    host=forward, third=third)
            break
        except ModerationError as exc:
            if exc.status != 422:
                raise _refused(request, exc) from None
            return _report_page(request, subject, values, request[GETTEXT](exc.message), status=422)
        except IntegrityError:
            # Two first reports of one item raced to create its moderation row, or one person
            # double-clicked: the second try sees the row (and refuses a duplicate with 409).
            if attempt == 2:
                raise
    if subject.origin_host:
        hosts = [subject.origin_host] if forward else []
        hosts += [third.host] if third and third.host not in hosts else []
        message = request[GETTEXT](REPORTED_REMOTE[bool(hosts)]) % {"host": ", ".join(hosts or [subject.origin_host])}
    else:
        message = request[GETTEXT](DONE["reported"])
    return render(request, "moderation/reported.html", {"subject": subject, "message": message})


async def moderation_queue(request: web.Request) -> web.Response:
    require_role(request, "moderator")
    hidden = request.query.get("hidden") == "1"
    page = _page(request)
    async with request.app[DB]() as db:
        rows, total = await service.queue(db, hidden=hidden, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
        reports = await service.reports_of(db, [m.id for m in rows])
        items = [(m, await service.load_subject(db, m.subject_type, m.subject_id), reports.get(m.id, []))
                 for m in rows]
    return render(request, "moderation/queue.html", {
        "items": items, "hidden": hidden, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
        "reasons": REASON_LABELS, "done": DONE.get(request.query.get("done", ""))})


async def _decide(request: web.Request, action) -> web.Response:
    user = require_role(request, "moderator")
    form = await request.post()
    try:
        async with request.app[DB].begin() as db:
            await action(db, user, form)
    except ModerationError as exc:
        raise _refused(request, exc) from None


async def hide_view(request: web.Request) -> web.Response:
    hidden = []

    async def action(db, user, form):
        subject = await _subject(db, request, form.get("subject_type"), form.get("subject_id"))
        await service.hide(db, subject, user, form.get("reason"))
        hidden.append(subject)
    await _decide(request, action)
    done = "hidden_here" if hidden[0].origin_host else "hidden"
    raise web.HTTPSeeOther(request.app.router["moderation"].url_for().with_query(hidden="1", done=done))


async def unhide_view(request: web.Request) -> web.Response:
    async def action(db, user, form):
        moderation = await db.get(Moderation, _int(request.match_info["moderation_id"]))
        if moderation is None:
            raise user_error(404, "There is nothing to report at this address.")
        await service.unhide(db, moderation, user, form.get("reason"))
    await _decide(request, action)
    raise web.HTTPSeeOther(request.app.router["moderation"].url_for().with_query(done="unhidden"))


async def _member(db, request: web.Request) -> User:
    member = await db.scalar(select(User).where(User.username == request.match_info["username"].lower()))
    if member is None:
        raise user_error(404, "No member of this node has this username. Check the address.")
    return member


async def block_view(request: web.Request) -> web.Response:
    blocking = request.match_info["action"] == "block"
    require_role(request, "moderator")
    name = request.match_info["username"]
    if "@" in name.strip("@"):
        # name@other.node, as the mirror shows authors of other nodes: not an account of this
        # node, and another node's accounts are theirs to block.
        text = request[GETTEXT](N_("%(name)s is an account of another node: only that node's moderators can "
                                   "block it. Here you can hide its content in this node's copy (Report, then "
                                   "Hide), or an administrator can stop federating with that node (Federated "
                                   "servers)."))
        message = text % {"name": name.strip("@")}  # formatted first: `make messages` reads user_error's text
        raise user_error(422, message)

    async def action(db, user, form):
        member = await _member(db, request)
        await (service.block if blocking else service.unblock)(db, member, user, form.get("reason"))
    await _decide(request, action)
    url = request.app.router["profile"].url_for(username=request.match_info["username"].lower())
    raise web.HTTPSeeOther(url.with_query(done="blocked" if blocking else "unblocked"))


async def admin_log(request: web.Request) -> web.Response:
    require_role(request, "admin")
    page = _page(request)
    async with request.app[DB]() as db:
        total = await db.scalar(select(func.count()).select_from(AdminAction))
        rows = (await db.execute(
            select(AdminAction, User.username).outerjoin(User, User.id == AdminAction.actor_id)
            .order_by(AdminAction.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    return render(request, "moderation/log.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE))})


__all__ = ["REASONS"]
