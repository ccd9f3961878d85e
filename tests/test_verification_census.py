"""The census: upload (all or nothing, digests only) and residents verifying against it."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from sqlalchemy.exc import IntegrityError

from node.appkeys import DB, SETTINGS
from node.moderation.models import AdminAction
from node.nodemodels import NodeSetting
from node.verification.census import parse_census, replace_census
from node.verification.grants import VerificationError, grant
from node.verification.keys import ensure_key
from node.verification.models import Authorisation, CensusEntry
from node.verification.service import active_authorisations
from tests.spaces_support import PASSWORD, admin_web, count, log_in, make_user  # noqa: F401
from tests.verification_support import CENSUS, HEADER, upload_census, verify_census


async def digests(app) -> set[str]:
    async with app[DB]() as db:
        return set((await db.scalars(select(CensusEntry.digest))).all())


async def test_upload_stores_only_digests_and_logs(admin_web, app):
    web = admin_web
    page = await upload_census(web, "\ufeff" + CENSUS + "12345678-Z,1990-04-01,08001\n")  # BOM, duplicate
    assert page.status == 200, page.text[:2000]
    assert page.has("2 residents") and page.has("1 duplicate")
    stored = await digests(app)
    assert len(stored) == 2 and all(len(d) == 64 for d in stored)
    async with app[DB]() as db:
        key = await db.get(NodeSetting, "verification_key")
        dump = repr([(r.key, r.value) for r in (await db.scalars(select(NodeSetting))).all()])
        log = (await db.scalars(select(AdminAction).where(AdminAction.action == "verification.census_upload"))).all()
    assert key is not None and "12345678" not in dump and "1990" not in dump
    assert [entry.data["residents"] for entry in log] == [2]
    assert key.value not in (await web.get("/admin/verifications/census")).text
    assert (await web.get("/admin/verifications/census")).has("2 residents")
    # semicolons and DD/MM/YYYY dates, same people: same digests
    again = await upload_census(web, "document_number;birth_date;postal_code\r\n12345678 z;01/04/1990; 08001\r\n"
                                     "X1234567L;1985-06-15;08002\r\n")
    assert again.status == 200, again.text[:2000]
    assert await digests(app) == stored


@pytest.mark.parametrize("content, status, message", [
    ("dni,birth,cp\n1,1990-01-01,08001\n", 422, "document_number, birth_date, postal_code"),
    (HEADER.encode() + "12345678Z,1990-04-01,08\xe001\n".encode("latin-1"), 422, "save the file as UTF-8"),
    (HEADER + "1,1990-02-30,08001\n2,1990-01-01,08001\n3,31/13/1990,\n,1990-01-01,08001\n", 422, "Line 2: the birth date"),
    ("", 422, "The file is empty"),
    (HEADER, 422, "no residents"),
])
async def test_bad_files_store_nothing(admin_web, app, content, status, message):
    await upload_census(admin_web, CENSUS)
    before = await digests(app)
    page = await upload_census(admin_web, content)
    assert page.status == status and page.has(message), page.text[:3000]
    assert await digests(app) == before
    if "birth date" in message:
        assert page.has("Line 4: the birth date") and page.has("Line 5: the document number is empty")
        assert page.has("3 lines cannot be read")


async def test_oversized_file_is_refused(admin_web, app):
    big = HEADER + "".join(f"{n:09d}A,1990-04-01,08001\n" for n in range(60_000))
    page = await upload_census(admin_web, big)
    assert page.status == 413
    assert await digests(app) == set()


async def test_census_verification(web, app):
    await log_in(web, app, "ada", role="admin")
    assert (await upload_census(web, CENSUS)).status == 200
    await web.post("/logout", {}, csrf_from_path="/")
    bob = await log_in(web, app, "bob")
    form = await web.get("/account/verifications/census")
    assert form.status == 200 and form.has('name="document_number"')
    miss = await verify_census(web, postal="08999")
    assert miss.status == 422 and miss.has("not in the census")
    done = await verify_census(web, document="12345678-z", birth="01/04/1990", postal=" 08001 ")
    assert done.status == 200 and done.url.endswith("/account/verifications?done=census"), done.text[:2000]
    assert done.has("You are verified")
    async with app[DB]() as db:
        held = await active_authorisations(db, bob.id)
    assert held["census"].details == {"postal_code": "08001", "birth_date": "1990-04-01"}
    assert held["census"].expires_at is not None

    # the same line for another account: 409 naming what to do
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "carol")
    taken = await verify_census(web)
    assert taken.status == 409 and taken.has("already verified another account")
    # re-uploading the census keeps every authorisation
    await web.post("/logout", {}, csrf_from_path="/")
    await web.login("ada", PASSWORD)
    assert (await upload_census(web, HEADER + "Y7654321,2000-01-01,08003\n")).status == 200
    async with app[DB]() as db:
        assert "census" in await active_authorisations(db, bob.id)


async def test_failed_attempts_are_limited(web, app):
    app[SETTINGS].verification_max_attempts = 3
    await ensure_key(app[DB])
    async with app[DB].begin() as db:
        await replace_census(db, parse_census(CENSUS.encode()))
    await log_in(web, app, "bob")
    for _ in range(3):
        assert (await verify_census(web, postal="00000")).status == 422
    locked = await verify_census(web)  # even the right details wait
    assert locked.status == 429 and locked.has("Too many attempts")
    await web.post("/logout", {}, csrf_from_path="/")
    await log_in(web, app, "carol")  # per account
    assert (await verify_census(web)).status == 200


async def test_two_accounts_racing_for_one_line(app, server):
    await ensure_key(app[DB])
    async with app[DB].begin() as db:
        await replace_census(db, parse_census(CENSUS.encode()))
    users = [await make_user(app, name) for name in ("bob", "carol")]

    async def claim(user):
        try:
            async with app[DB].begin() as db:
                await grant(db, user_id=user.id, handler="census", details={}, settings=app[SETTINGS],
                            unique_digest="d" * 64)
            return "won"
        except (IntegrityError, VerificationError):
            return "lost"

    results = await asyncio.gather(*(claim(user) for user in users))
    assert sorted(results) == ["lost", "won"]
    assert await count(app, Authorisation, Authorisation.unique_digest == "d" * 64) == 1


async def test_the_index_alone_refuses_a_second_holder(app, server):
    bob, carol = await make_user(app, "bob"), await make_user(app, "carol")
    async with app[DB].begin() as db:
        db.add(Authorisation(user_id=bob.id, handler="census", unique_digest="e" * 64, details={}))
    with pytest.raises(IntegrityError):
        async with app[DB].begin() as db:
            db.add(Authorisation(user_id=carol.id, handler="census", unique_digest="e" * 64, details={}))
    async with app[DB].begin() as db:  # a revoked holder frees the identity
        row = await db.scalar(select(Authorisation).where(Authorisation.user_id == bob.id))
        row.revoked_at = row.created_at
    async with app[DB].begin() as db:
        db.add(Authorisation(user_id=carol.id, handler="census", unique_digest="e" * 64, details={}))
