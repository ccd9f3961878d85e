"""Publishing on behalf of a verified group: proposals and comments (allowed for accepted members
of verified groups only, refused with a 403 and nothing written otherwise), shown on the pages,
in the API and in the open-data export; past content keeps its group when a member is removed
or the group unverified; supports and fingerprints stay personal."""
from __future__ import annotations

import json

from sqlalchemy import select

from node.appkeys import DB
from node.components.comments.models import Comment
from node.components.proposals.models import Proposal, ProposalVersion
from node.groups import service
from node.groups.models import UserGroup
from tests.groups_support import make_group
from tests.opendata_support import read_zip
from tests.proposals_fixtures import BODY, list_path, proposal_path, space_with_component
from tests.spaces_support import count, make_user

PASSWORD = "correct horse battery"
REFUSED = "You can only publish on behalf of a verified group you are a member of."


async def setup(web, app):
    space, component, _ = await space_with_component(app)
    admin = await make_user(app, "alice_admin", role="admin")
    amelie = await make_user(app, "amelie")
    group = await make_group(app, amelie, verified_by=admin)
    await web.login("amelie", PASSWORD)
    return space, component, amelie, group, admin


async def propose(web, space, component, **extra):
    path = f"/spaces/{space.slug}/c/{component.id}/proposals/new"
    return await web.post(path, {"title": "Benches on the market square", "body": BODY, **extra},
                          csrf_from_path=path)


async def comment(web, space, proposal_id, **extra):
    path = proposal_path(space, proposal_id)
    return await web.post("/comments", {"commentable_type": "proposal", "commentable_id": str(proposal_id),
                                        "body": "We support this as an association.", **extra},
                          csrf_from_path=path)


async def get_json(web, path):
    async with web.session.get(web.base + path) as response:
        assert response.status == 200, path
        return await response.json()


async def test_a_member_publishes_a_proposal_and_a_comment_on_behalf_of_a_verified_group(web, app):
    space, component, amelie, group, _ = await setup(web, app)
    form = await web.get(f"/spaces/{space.slug}/c/{component.id}/proposals/new")
    assert '<label for="f-user-group">Publish as</label>' in form.text
    assert f'<option value="{group.id}">Market Square Neighbours (on behalf of the group)</option>' in form.text
    page = await propose(web, space, component, user_group=str(group.id))
    assert page.status == 200 and "Your proposal is published." in page.text
    async with app[DB]() as db:
        proposal = await db.scalar(select(Proposal))
        version = await db.scalar(select(ProposalVersion))
    assert proposal.author_id == amelie.id and proposal.user_group_id == group.id
    # The fingerprinted text names the person only: the group is not part of what she signed.
    assert "neighbours" not in version.canonical_json and "/users/amelie" in version.canonical_json
    assert 'on behalf of <a href="/groups/neighbours">Market Square Neighbours</a>' in page.text
    listing = await web.get(list_path(space, component))
    assert 'on behalf of <a href="/groups/neighbours">Market Square Neighbours</a>' in listing.text

    page = await comment(web, space, proposal.id, user_group=str(group.id))
    assert page.status == 200
    async with app[DB]() as db:
        stored = await db.scalar(select(Comment))
    assert stored.author_id == amelie.id and stored.user_group_id == group.id
    assert 'on behalf of <a href="/groups/neighbours">Market Square Neighbours</a></span>' in page.text
    assert 'id="comment-user-group"' in page.text  # the comment form offers the choice too
    assert f'id="reply-user-group-{stored.id}"' in page.text  # and so does each reply form
    reply = await comment(web, space, proposal.id, parent_id=str(stored.id), user_group=str(group.id))
    assert reply.status == 200
    async with app[DB]() as db:
        answer = await db.scalar(select(Comment).where(Comment.parent_id == stored.id))
    assert answer.user_group_id == group.id and answer.author_id == amelie.id

    # Personal by default: no value means herself.
    await propose(web, space, component, title="Lights in the park at night")
    async with app[DB]() as db:
        mine = await db.scalar(select(Proposal).where(Proposal.title == "Lights in the park at night"))
    assert mine.user_group_id is None

    api = await get_json(web, f"/api/proposals/{proposal.id}")
    assert api["user_group"] == {"nickname": "neighbours", "name": "Market Square Neighbours"}
    assert api["author"].endswith("/users/amelie")
    listed = await get_json(web, f"/api/spaces/{space.slug}/proposals")
    assert {item["id"]: item["user_group"] for item in listed["items"]} == {
        proposal.id: {"nickname": "neighbours", "name": "Market Square Neighbours"}, mine.id: None}
    comments = await get_json(web, f"/api/comments?commentable_type=proposal&commentable_id={proposal.id}")
    assert comments["items"][0]["user_group"] == {"nickname": "neighbours", "name": "Market Square Neighbours"}
    schema = await get_json(web, "/api/openapi.json")
    for name in ("Proposal", "ProposalWithVersions", "Comment"):
        assert "user_group" in schema["components"]["schemas"][name]["properties"], name

    # Open data: the group's public nickname and name, in JSON and CSV.
    async with web.session.get(f"{web.base}/spaces/{space.slug}/export.json") as response:
        export = json.loads(await response.read())
    assert {p["id"]: p["user_group"] for p in export["proposals"]}[proposal.id]["nickname"] == "neighbours"
    assert export["comments"][0]["user_group"] == {"nickname": "neighbours", "name": "Market Square Neighbours"}
    async with web.session.get(f"{web.base}/spaces/{space.slug}/export.zip") as response:
        tables = read_zip(await response.read())
    header, rows = tables["proposals"]
    assert "user_group/nickname" in header and "user_group/name" in header
    assert {row["id"]: row["user_group/nickname"] for row in rows} == {str(proposal.id): "neighbours", str(mine.id): ""}
    assert tables["comments"][1][0]["user_group/name"] == "Market Square Neighbours"


async def test_publishing_as_a_group_is_refused_unless_accepted_member_of_a_verified_group(web, app):
    space, component, amelie, group, admin = await setup(web, app)
    unverified = await make_group(app, amelie, "unverified", "Not Yet Verified")
    bea = await make_user(app, "bea")
    other = await make_group(app, bea, "others", "Someone Else's Group", verified_by=admin)
    requested = await make_group(app, bea, "asked", "Group She Asked To Join", verified_by=admin)
    async with app[DB].begin() as db:
        await service.request_to_join(db, await db.get(UserGroup, requested.id), amelie)
    form = await web.get(f"/spaces/{space.slug}/c/{component.id}/proposals/new")
    assert f'value="{group.id}"' in form.text
    for absent in (unverified, other, requested):
        assert f'<option value="{absent.id}"' not in form.text
    async with app[DB]() as db:
        target = await db.scalar(select(Proposal.id))
    assert target is None
    await propose(web, space, component)  # something to comment on
    async with app[DB]() as db:
        target = await db.scalar(select(Proposal.id))
    for value in (str(unverified.id), str(other.id), str(requested.id), "999999", "abc"):
        page = await propose(web, space, component, title="Another idea for the square", user_group=value)
        assert page.status == 403 and REFUSED in page.text, value
        page = await comment(web, space, target, user_group=value)
        assert page.status == 403 and REFUSED in page.text, value
    assert await count(app, Proposal) == 1 and await count(app, Comment) == 0


async def test_past_content_keeps_its_group_after_removal_and_unverification(web, app):
    space, component, amelie, group, admin = await setup(web, app)
    jordi = await make_user(app, "jordi")
    async with app[DB].begin() as db:
        row = await db.get(UserGroup, group.id)
        await service.invite(db, row, amelie, "jordi")
        await service.accept_invitation(db, row, jordi)
    await web.login("jordi", PASSWORD)
    await propose(web, space, component, user_group=str(group.id))
    async with app[DB]() as db:
        proposal = await db.scalar(select(Proposal))
    await comment(web, space, proposal.id, user_group=str(group.id))

    async with app[DB].begin() as db:
        await service.manage_member(db, await db.get(UserGroup, group.id), amelie, jordi.id, "remove")
    # Removed: he may no longer publish as the group, but what he published keeps it.
    page = await comment(web, space, proposal.id, user_group=str(group.id))
    assert page.status == 403
    async with app[DB].begin() as db:
        await service.set_verified(db, await db.get(UserGroup, group.id), admin, False, "Dissolved.")
    async with app[DB]() as db:
        assert (await db.get(Proposal, proposal.id)).user_group_id == group.id
        assert [c.user_group_id for c in await db.scalars(select(Comment))] == [group.id]
    page = await web.get(proposal_path(space, proposal.id))
    assert page.text.count('on behalf of <a href="/groups/neighbours">') == 2
    # Even Amelie, still a member, can no longer publish as an unverified group.
    await web.login("amelie", PASSWORD)
    page = await comment(web, space, proposal.id, user_group=str(group.id))
    assert page.status == 403 and await count(app, Comment) == 1
