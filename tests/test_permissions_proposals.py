"""Permissions on proposals over HTTP: create, support, amend and comment refused with a 403 that
says what is missing and writes nothing; pages show the explanation instead of the button;
withdrawing a support stays possible and past supports stay counted after a revocation or an
expiry; the list page still costs a constant number of statements."""
from __future__ import annotations

from datetime import timedelta

from babel.dates import format_date
from sqlalchemy import event, insert

from node.appkeys import DB, ENGINE
from node.components.comments.models import Comment
from node.components.proposals.models import Amendment, Proposal, Support
from node.db.base import utcnow
from tests.permissions_support import CENSUS_ONLY, CHILD, expire, grant, restrict, revoke
from tests.proposals_fixtures import BODY, list_path, make_proposal, proposal_path, space_with_component
from tests.spaces_support import count, log_in, make_user, stop_background_work

VERIFY_LINK = '<a href="/account/verifications">Go to my verifications</a>'
MISSING = "To support proposals, you need this verification: Residence (municipal census)."


async def setup(app, **permissions):
    space, component, _ = await space_with_component(app)
    author = await make_user(app, "amelie")
    proposal = await make_proposal(app, space, component, author)
    await restrict(app, component, **permissions)
    return space, component, proposal


async def support(web, space, proposal, action="support"):
    path = proposal_path(space, proposal.id)
    return await web.post(f"{path}/{action}", {}, csrf_from_path=path)


async def supports_of(app, proposal):
    async with app[DB]() as db:
        return (await db.get(Proposal, proposal.id)).support_count, await count(app, Support, Support.proposal_id == proposal.id)


async def test_support_needs_the_verification_and_the_page_says_so(web, app):
    space, component, proposal = await setup(app, support=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    page = await web.get(proposal_path(space, proposal.id))
    assert MISSING in page.text and VERIFY_LINK in page.text
    assert "/support\"" not in page.text  # no support form, only the explanation
    listing = await web.get(list_path(space, component))
    assert MISSING in listing.text and "/support\"" not in listing.text
    refused = await support(web, space, proposal)
    assert refused.status == 403 and MISSING in refused.text and VERIFY_LINK in refused.text
    assert await supports_of(app, proposal) == (0, 0)
    await grant(app, jordi)
    page = await web.get(proposal_path(space, proposal.id))
    assert MISSING not in page.text and f"/proposals/{proposal.id}/support\"" in page.text
    done = await support(web, space, proposal)
    assert done.status == 200 and "your support is recorded" in done.text
    assert await supports_of(app, proposal) == (1, 1)


async def test_postal_codes_age_and_one_of_two_handlers(web, app):
    space, component, proposal = await setup(app, support={"handlers": ["census", "manual"],
                                                           "postal_codes": ["08001", "08002"], "min_age": 16})
    jordi = await log_in(web, app, "jordi")
    page = await web.get(proposal_path(space, proposal.id))
    assert ("To support proposals, you need one of these verifications: Residence (municipal census), "
            "Verified in person.") in page.text
    wrong_code = await grant(app, jordi, postal_code="08010")
    refused = await support(web, space, proposal)
    assert refused.status == 403
    assert "Only residents of these postal codes may support proposals: 08001, 08002." in refused.text
    await revoke(app, wrong_code)
    young = await grant(app, jordi, "manual", postal_code="08002", birth_date=CHILD)
    refused = await support(web, space, proposal)
    assert refused.status == 403 and "You must be at least 16 years old to support proposals." in refused.text
    assert await supports_of(app, proposal) == (0, 0)
    await revoke(app, young)
    await grant(app, jordi, "manual", postal_code="08002")  # the second handler is enough
    assert (await support(web, space, proposal)).status == 200
    assert await supports_of(app, proposal) == (1, 1)


async def test_expired_verification_is_explained_with_its_date(web, app):
    space, component, proposal = await setup(app, support=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    authorisation = await grant(app, jordi, expires_in=timedelta(days=1))
    await expire(app, authorisation)
    refused = await support(web, space, proposal)
    day = format_date(utcnow() - timedelta(minutes=1), "long", locale="en")
    assert refused.status == 403
    assert (f"Your verification “Residence (municipal census)” expired on {day}; verify again to support "
            "proposals.") in refused.text


async def test_withdrawing_stays_possible_and_past_supports_stay_counted(web, app):
    space, component, proposal = await setup(app, support=CENSUS_ONLY)
    second = await make_proposal(app, space, component, await make_user(app, "berta"), title="Open the library on Sundays")
    jordi = await log_in(web, app, "jordi")
    authorisation = await grant(app, jordi, expires_in=timedelta(days=300))
    assert (await support(web, space, proposal)).status == 200
    assert (await support(web, space, second)).status == 200
    await revoke(app, authorisation)
    # Revoking stops future supports; the ones given stay, counted.
    assert await supports_of(app, proposal) == (1, 1) and await supports_of(app, second) == (1, 1)
    page = await web.get(proposal_path(space, proposal.id))
    assert "Remove my support" in page.text and f"/proposals/{proposal.id}/unsupport\"" in page.text
    listing = await web.get(list_path(space, component))
    assert listing.text.count("Remove my support") == 2 and MISSING in listing.text
    removed = await support(web, space, proposal, "unsupport")
    assert removed.status == 200 and "Your support is removed." in removed.text
    assert await supports_of(app, proposal) == (0, 0)
    again = await support(web, space, proposal)
    assert again.status == 403 and MISSING in again.text
    assert await supports_of(app, proposal) == (0, 0) and await supports_of(app, second) == (1, 1)


async def test_past_supports_stay_counted_when_the_verification_expires(web, app):
    space, component, proposal = await setup(app, support=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    authorisation = await grant(app, jordi, expires_in=timedelta(days=30))
    assert (await support(web, space, proposal)).status == 200
    await expire(app, authorisation)
    assert await supports_of(app, proposal) == (1, 1)
    assert (await support(web, space, proposal, "unsupport")).status == 200


async def test_creating_a_proposal(web, app):
    space, component, _ = await setup(app, create=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    new = f"/spaces/{space.slug}/c/{component.id}/proposals/new"
    explanation = "To create proposals, you need this verification: Residence (municipal census)."
    listing = await web.get(list_path(space, component))
    assert explanation in listing.text and f'href="{new}"' not in listing.text
    form = await web.get(new)
    assert form.status == 403 and explanation in form.text and VERIFY_LINK in form.text
    refused = await web.post(new, {"title": "Plant trees on the market square", "body": BODY, "confirm": "1"},
                             csrf_from_path=list_path(space, component))
    assert refused.status == 403 and explanation in refused.text
    assert await count(app, Proposal) == 1  # the one made by setup()
    await grant(app, jordi)
    assert (await web.get(new)).status == 200
    created = await web.post(new, {"title": "A shaded playground by the river", "body": BODY, "confirm": "1"},
                             csrf_from_path=new)
    assert created.status == 200 and "Your proposal is published." in created.text
    assert await count(app, Proposal) == 2


async def test_amending_a_proposal(web, app):
    space, component, proposal = await setup(app, amend={"handlers": ["census"], "min_age": 18})
    jordi = await log_in(web, app, "jordi")
    amend = proposal_path(space, proposal.id) + "/amend"
    page = await web.get(proposal_path(space, proposal.id))
    explanation = "To amend proposals, you need this verification: Residence (municipal census)."
    assert explanation in page.text and f'href="{amend}"' not in page.text
    assert (await web.get(amend)).status == 403
    await grant(app, jordi, birth_date=CHILD)
    refused = await web.post(amend, {"title": "Plant oaks on the market square", "body": BODY + " Oaks."},
                             csrf_from_path=proposal_path(space, proposal.id))
    assert refused.status == 403 and "You must be at least 18 years old to amend proposals." in refused.text
    assert await count(app, Amendment) == 0


async def test_commenting_on_a_proposal_takes_its_components_permission(web, app):
    space, component, proposal = await setup(app, comment=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    path = proposal_path(space, proposal.id)
    explanation = "To comment on proposals, you need this verification: Residence (municipal census)."
    page = await web.get(path)
    assert explanation in page.text and 'id="comment-body"' not in page.text
    refused = await web.post("/comments", {"commentable_type": "proposal", "commentable_id": str(proposal.id),
                                           "body": "I agree."}, csrf_from_path=path)
    assert refused.status == 403 and explanation in refused.text
    assert await count(app, Comment) == 0
    await grant(app, jordi)
    page = await web.get(path)
    assert 'id="comment-body"' in page.text
    sent = await web.post("/comments", {"commentable_type": "proposal", "commentable_id": str(proposal.id),
                                        "body": "I agree."}, csrf_from_path=path)
    assert sent.status == 200 and await count(app, Comment) == 1


async def test_anonymous_visitors_are_sent_to_log_in_and_see_the_requirements(web, app):
    space, component, proposal = await setup(app, support={"handlers": ["census"], "postal_codes": ["08001", "08002"],
                                                           "min_age": 16})
    listing = await web.get(list_path(space, component))
    assert "Who can take part" in listing.text and "To support proposals you need:" in listing.text
    assert "a postal code among: 08001, 08002" in listing.text and "to be at least 16 years old" in listing.text
    assert "this verification: Residence (municipal census)" in listing.text
    path = proposal_path(space, proposal.id)
    sent = await web.post(path + "/support", {}, csrf_from_path=path, allow_redirects=False)
    assert sent.status == 303 and sent.headers["Location"].startswith("/login")
    assert await supports_of(app, proposal) == (0, 0)


async def test_the_list_page_still_costs_a_constant_number_of_statements(web, app):
    space, component, proposal = await setup(app, create=CENSUS_ONLY, support=CENSUS_ONLY)
    jordi = await log_in(web, app, "jordi")
    await grant(app, jordi)
    await stop_background_work(app)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    figures = []
    for size in (5, 50):
        async with app[DB].begin() as db:
            await db.execute(insert(Proposal), [
                {"component_id": component.id, "space_id": space.id, "author_id": jordi.id, "state": "not_answered",
                 "title": f"Proposal number {n}", "body": BODY, "category": "", "address": "", "support_count": 0,
                 "comments_count": 0, "version_number": 1, "created_at": utcnow()}
                for n in range(size - await count(app, Proposal))])
        event.listen(app[ENGINE].sync_engine, "before_cursor_execute", record)
        try:
            statements.clear()
            page = await web.get(list_path(space, component))
        finally:
            event.remove(app[ENGINE].sync_engine, "before_cursor_execute", record)
        assert page.status == 200 and page.text.count("/support\"") == min(size, 20)
        figures.append(len(statements))
        # Two restricted actions, one read of the viewer's authorisations.
        assert sum("authorisations" in s for s in statements) == 1, statements
    assert figures[0] <= figures[1] <= figures[0], figures
