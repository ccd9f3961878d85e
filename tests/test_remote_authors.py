"""A partner node's resident who commented or proposed in a co-hosted space is named, outside the
pages, as the pages name them: in the public API (an object that says ``remote: true``, valid
against the OpenAPI document), in the open-data exports (JSON and CSV) and in notifications
("Jordi (town.example) commented on …"). The federation path that creates these rows is
tests/test_cohosting_comments.py's and tests/test_cohosting_proposals.py's; here they are made
by the same services the host handlers call."""
from __future__ import annotations

import json

import pytest
from jsonschema import ValidationError
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from node.accounts.models import User
from node.appkeys import DB, SETTINGS
from node.cohosting.models import RemoteParticipant
from node.components.comments.registry import load_target
from node.components.comments.service import create_comment
from node.components.proposals.service import create_proposal
from node.notifications.models import Notification
from node.spaces.models import Component, Space
from tests.mail_support import message_of, smtp_on_loopback
from tests.opendata_support import read_zip
from tests.proposals_fixtures import make_proposal, space_with_component
from tests.spaces_support import PASSWORD, make_user
from tests.test_notifications import settle

ACTOR = "https://town.example/users/jordi"
REMOTE = {"id": ACTOR, "name": "Jordi Puig", "node": "town.example", "remote": True}


async def remote_world(app, alice=None) -> dict:
    space, component, _ = await space_with_component(app, "budget-2027")
    alice = alice or await make_user(app, "alice")
    local = await make_proposal(app, space, component, alice)
    async with app[DB].begin() as db:
        jordi = RemoteParticipant(actor_uri=ACTOR, home_node_uri="https://town.example/actor",
                                  home_host="town.example", display_name="Jordi Puig")
        db.add(jordi)
        await db.flush()
        target = await load_target(db, "proposal", local.id)
        remote_comment = await create_comment(db, target, commentable_type="proposal", commentable_id=local.id,
                                              author=None, remote_participant=jordi, body="From the town: yes.")
        reply = await create_comment(db, target, commentable_type="proposal", commentable_id=local.id,
                                     author=await db.get(User, alice.id), body="Welcome!",
                                     parent_id=remote_comment.id)
        remote_proposal = await create_proposal(
            db, space=await db.get(Space, space.id), component=await db.get(Component, component.id), author=None,
            remote_participant=jordi, base_url=app[SETTINGS].base_url,
            values={"title": "A bus line to the town", "body": "Every half hour, @alice, on weekdays too."})
    return {"space": space, "alice": alice, "local": local, "remote_comment": remote_comment, "reply": reply,
            "remote_proposal": remote_proposal}


def validator(document: dict, name: str) -> Draft202012Validator:
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document))
    return Draft202012Validator({"$ref": f"urn:api#/components/schemas/{name}"}, registry=registry)


async def get_json(web, path: str):
    async with web.session.get(web.base + path) as response:
        assert response.status == 200, path
        return json.loads(await response.read())


async def test_api_and_exports_tell_remote_authors_apart(web, app):
    world = await remote_world(app)
    base = app[SETTINGS].base_url
    document = await get_json(web, "/api/openapi.json")
    local, remote_proposal = world["local"], world["remote_proposal"]

    comments = (await get_json(web, f"/api/comments?commentable_type=proposal&commentable_id={local.id}"))["items"]
    by_id = {c["id"]: c for c in comments}
    assert by_id[world["remote_comment"].id]["author"] == REMOTE
    # A local author keeps the shape they always had.
    assert by_id[world["reply"].id]["author"] == {"username": "alice", "nickname": "Alice",
                                                  "url": f"{base}/users/alice"}
    for item in comments:
        validator(document, "Comment").validate(item)

    one = await get_json(web, f"/api/proposals/{remote_proposal.id}")
    assert one["author"] == REMOTE
    validator(document, "ProposalWithVersions").validate(one)
    listing = (await get_json(web, "/api/spaces/budget-2027/proposals"))["items"]
    assert [p["author"] for p in listing] == [f"{base}/users/alice", REMOTE]
    for item in listing:
        validator(document, "Proposal").validate(item)
    # The schema tells them apart: a remote author is not a valid local one, and the reverse.
    schema = document["components"]["schemas"]["Comment"]["properties"]["author"]
    assert len(schema["oneOf"]) == 3 and {"$ref": "#/components/schemas/RemoteAuthor"} in schema["oneOf"]
    with pytest.raises(ValidationError):
        validator(document, "RemoteAuthor").validate(by_id[world["reply"].id]["author"])

    export = await get_json(web, "/spaces/budget-2027/export.json")
    assert next(p for p in export["proposals"] if p["id"] == remote_proposal.id)["author"] == REMOTE
    assert next(c for c in export["comments"] if c["id"] == world["remote_comment"].id)["author"] == REMOTE

    async with web.session.get(web.base + "/spaces/budget-2027/export.zip") as response:
        tables = read_zip(await response.read())
    header, rows = tables["comments"]
    assert {"author/username", "author/id", "author/name", "author/node", "author/remote"} <= set(header)
    remote_row = next(r for r in rows if r["id"] == str(world["remote_comment"].id))
    assert (remote_row["author/id"], remote_row["author/name"], remote_row["author/node"],
            remote_row["author/remote"], remote_row["author/username"]) == \
        (ACTOR, "Jordi Puig", "town.example", "true", "")
    assert next(r for r in rows if r["id"] == str(world["reply"].id))["author/username"] == "alice"
    header, rows = tables["proposals"]
    by_proposal = {r["id"]: r for r in rows}
    assert (by_proposal[str(remote_proposal.id)]["author/name"], by_proposal[str(remote_proposal.id)]["author"]) \
        == ("Jordi Puig", "")
    assert by_proposal[str(local.id)]["author"] == f"{base}/users/alice"


async def test_notifications_name_the_remote_author(web, app):
    async with smtp_on_loopback(app) as inbox:
        alice = await make_user(app, "alice")
        async with app[DB].begin() as db:
            (await db.get(User, alice.id)).notification_email = "immediate"
        await remote_world(app, alice)
        await settle(app)
        async with app[DB]() as db:
            notes = {n.kind: n for n in await db.scalars(
                select(Notification).where(Notification.user_id == alice.id))}
        # alice follows her proposal: told of Jordi's comment; named in Jordi's proposal.
        assert set(notes) == {"comment", "mention"}
        assert notes["comment"].actor_id is None and notes["comment"].actor_name == "Jordi Puig (town.example)"
        await web.login("alice", PASSWORD)
        page = await web.get("/notifications")
        assert page.has("Jordi Puig (town.example) commented on") and page.has("Jordi Puig (town.example) mentioned you in")
        assert not page.has("Someone")
        subjects = sorted(message_of(envelope)["Subject"] for envelope in inbox.envelopes)
        assert any(s.endswith("] Jordi Puig (town.example) commented on “Plant trees on the market square”")
                   for s in subjects), subjects
        assert any("Jordi Puig (town.example) mentioned you in “A bus line to the town”" in s for s in subjects)
