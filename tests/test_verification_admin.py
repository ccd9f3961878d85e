"""Manual grants, revocation, expiry, the admins' pages and who may open them, and what
active_authorisations counts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, SETTINGS
from node.db.base import utcnow
from node.moderation.models import AdminAction
from node.verification.grants import grant, status
from node.verification.models import Authorisation
from node.verification.service import active_authorisations
from tests.spaces_support import PASSWORD, admin_web, log_in, make_user  # noqa: F401
from tests.verification_support import CENSUS, upload_census


async def actions(app, name):
    async with app[DB]() as db:
        return (await db.scalars(select(AdminAction).where(AdminAction.action == name))).all()


async def test_manual_grant_revoke_and_the_residents_page(admin_web, app):
    web = admin_web
    bob = await make_user(app, "bob")
    page = await web.get("/admin/verifications")
    assert page.status == 200 and page.has('name="reason"')
    refused = await web.post("/admin/verifications/manual", {"username": "bob", "reason": "",
                                                             "birth_date": "1990-13-01"},
                             csrf_from_path="/admin/verifications")
    assert refused.status == 422 and refused.has("Say how the person was verified")
    assert refused.has("Write the birth date as")
    unknown = await web.post("/admin/verifications/manual", {"username": "nobody", "reason": "Desk"},
                             csrf_from_path="/admin/verifications")
    assert unknown.status == 422 and unknown.has("No member of this node has this username")
    past = await web.post("/admin/verifications/manual", {"username": "bob", "reason": "Desk",
                                                          "expires_on": "2001-01-01"},
                          csrf_from_path="/admin/verifications")
    assert past.status == 422 and past.has("must be in the future")
    async with app[DB]() as db:
        assert (await db.scalars(select(Authorisation))).all() == []
    expires = (utcnow() + timedelta(days=30)).date().isoformat()
    done = await web.post("/admin/verifications/manual", {
        "username": "@Bob", "reason": "Identity card checked at the desk", "postal_code": "08 001",
        "birth_date": "01/04/1990", "expires_on": expires}, csrf_from_path="/admin/verifications")
    assert done.status == 200 and done.has("The authorisation was granted"), done.text[:2000]
    async with app[DB]() as db:
        held = await active_authorisations(db, bob.id)
    manual = held["manual"]
    assert manual.details == {"postal_code": "08001", "birth_date": "1990-04-01"}
    assert manual.expires_at.date().isoformat() == expires and manual.reason.startswith("Identity card")
    [logged] = await actions(app, "verification.grant")
    assert logged.subject_id == manual.id and logged.reason.startswith("Identity card")

    listing = await web.get("/admin/verifications?handler=manual")
    assert listing.has("@bob") and listing.has("Active")
    assert (await web.get("/admin/verifications?handler=census")).has("Authorisations: 0")

    no_reason = await web.post(f"/admin/verifications/{manual.id}/revoke", {"reason": " "},
                               csrf_from_path="/admin/verifications")
    assert no_reason.status == 422
    revoked = await web.post(f"/admin/verifications/{manual.id}/revoke", {"reason": "Moved out"},
                             csrf_from_path="/admin/verifications")
    assert revoked.status == 200 and revoked.has("The authorisation was revoked")
    again = await web.post(f"/admin/verifications/{manual.id}/revoke", {"reason": "Twice"},
                           csrf_from_path="/admin/verifications")
    assert again.status == 409
    missing = await web.post("/admin/verifications/999999/revoke", {"reason": "x"},
                             csrf_from_path="/admin/verifications")
    assert missing.status == 404
    async with app[DB]() as db:
        row = await db.get(Authorisation, manual.id)  # kept, never deleted
        assert row.revoked_at is not None and row.revoke_reason == "Moved out"
        assert await active_authorisations(db, bob.id) == {}
    [logged] = await actions(app, "verification.revoke")
    assert logged.reason == "Moved out" and logged.subject_id == manual.id

    await web.post("/logout", {}, csrf_from_path="/")
    await web.login("bob", PASSWORD)
    mine = await web.get("/account/verifications")
    assert mine.status == 200 and mine.has("Revoked") and mine.has("Moved out")
    assert (await web.get("/account")).has('href="/account/verifications"')


async def test_active_authorisations_semantics(app, server):
    bob = await make_user(app, "bob")
    now = utcnow()
    settings = app[SETTINGS]
    async with app[DB].begin() as db:
        expired = await grant(db, user_id=bob.id, handler="census", details={}, settings=settings,
                              unique_digest="a" * 64, expires_at=now - timedelta(seconds=1))
        revoked = await grant(db, user_id=bob.id, handler="email_domain", details={}, settings=settings,
                              unique_digest="b" * 64)
        revoked.revoked_at = now
        pending = Authorisation(user_id=bob.id, handler="email_domain", details={"domain": "x.example"},
                                created_at=now)
        db.add(pending)
        manual = await grant(db, user_id=bob.id, handler="manual", details={}, settings=settings)
    async with app[DB]() as db:
        held = await active_authorisations(db, bob.id)
        assert set(held) == {"manual"} and held["manual"].id == manual.id and manual.expires_at is None
        # at an earlier moment the census one still held
        assert set(await active_authorisations(db, bob.id, now - timedelta(hours=1))) == {"census", "manual"}
    assert status(expired) == "expired" and status(revoked) == "revoked" and status(pending) == "pending"
    assert status(pending, now + timedelta(hours=25)) == "expired"
    # the account's own expired census line verifies it again (the old row is kept, marked renewed)
    async with app[DB].begin() as db:
        renewed = await grant(db, user_id=bob.id, handler="census", details={}, settings=settings,
                              unique_digest="a" * 64)
    async with app[DB]() as db:
        assert (await active_authorisations(db, bob.id))["census"].id == renewed.id
        assert status(await db.get(Authorisation, expired.id)) == "renewed"
        assert renewed.expires_at - renewed.confirmed_at == timedelta(days=settings.census_validity_days)


async def test_only_admins_and_only_with_csrf(web, app):
    await log_in(web, app, "bob")
    for path in ("/admin/verifications", "/admin/verifications/census", "/admin/verifications/domains"):
        assert (await web.get(path)).status == 403, path
    assert (await web.post("/admin/verifications/manual", {"username": "bob", "reason": "me"})).status == 403
    assert (await upload_census(web, CENSUS, csrf=(await web.get("/")).text.split('name="_csrf" value="')[1]
                                .split('"')[0])).status == 403
    await web.post("/logout", {}, csrf_from_path="/")
    anonymous = await web.get("/account/verifications", allow_redirects=False)
    assert anonymous.status == 303 and "/login" in anonymous.headers["Location"]
    await log_in(web, app, "ada", role="admin")
    assert (await web.post("/admin/verifications/manual", {"username": "bob", "reason": "x"}, csrf=False)).status == 403
    assert (await upload_census(web, CENSUS, csrf=False)).status == 403
    assert (await web.post("/admin/verifications/domains", {"domains": "a.example"}, csrf="forged")).status == 403
    async with app[DB]() as db:
        assert (await db.scalars(select(Authorisation))).all() == []
        assert (await db.get(User, 1)) is not None


async def test_email_domains_admin(admin_web, app):
    web = admin_web
    page = await web.get("/admin/verifications/domains")
    assert page.status == 200 and page.has("no SMTP server configured")
    bad = await web.post("/admin/verifications/domains", {"domains": "collective.example\nnot a domain!"},
                         csrf_from_path="/admin/verifications/domains")
    assert bad.status == 422 and bad.has("These are not domain names")
    ok = await web.post("/admin/verifications/domains", {"domains": "Collective.example, @coop.example\n"},
                        csrf_from_path="/admin/verifications/domains")
    assert ok.status == 200 and ok.has("collective.example\ncoop.example")
    [logged] = await actions(app, "verification.domains")
    assert logged.data == {"domains": ["collective.example", "coop.example"]}
    nav = await web.get("/admin")
    assert nav.has('href="/admin/verifications"')


async def test_open_data_and_api_expose_nothing(admin_web, app):
    web = admin_web
    await upload_census(web, CENSUS)
    bob = await make_user(app, "bob")
    await web.post("/admin/verifications/manual", {"username": "bob", "reason": "Secret reason 4242",
                                                   "postal_code": "08001", "birth_date": "1990-04-01"},
                   csrf_from_path="/admin/verifications")
    assert bob.id
    # Both read named tables only (node.opendata.sources, node.api): nothing of verification.
    for path in ("/export.json", "/api/spaces", "/api/openapi.json"):
        page = await web.get(path)
        assert page.status == 200, path
        for secret in ("Secret reason 4242", "1990-04-01", "census", "verification_key"):
            assert secret not in page.text, (path, secret)
