"""Administrators block or allow other servers (defederation) from the admin area."""
from __future__ import annotations

from node.activitypub.inbox import POLICIES
from node.activitypub.models import InstancePolicy
from tests.spaces_support import admin_web, count, log_in  # noqa: F401

PAGE = "/admin/federation/servers"


async def test_block_then_unblock_a_server(admin_web, app):
    page = await admin_web.post(PAGE, {"host": "Spam.Example.ORG", "policy": "block", "reason": "Spam waves"},
                                csrf_from_path=PAGE)
    assert page.status == 200 and "spam.example.org" in page.text and "Spam waves" in page.text
    policies = app[POLICIES]
    assert "blocked" in await policies.refusal("social.spam.example.org")
    assert await policies.refusal("town.example.org") is None
    removed = await admin_web.post(PAGE + "/remove", {"host": "spam.example.org"}, csrf_from_path=PAGE)
    assert removed.status == 200 and "No decision yet." in removed.text
    assert await policies.refusal("spam.example.org") is None


async def test_bad_rules_are_refused_and_nothing_is_stored(admin_web, app):
    own = admin_web.base.split("://", 1)[1]
    for data, message in (
        ({"host": "not a host!", "policy": "block"}, "Enter a server name"),
        ({"host": own, "policy": "block"}, "this node&#39;s own address"),
        ({"host": "ok.example.org", "policy": "ignore"}, "Choose to block this server or to allow it."),
        ({"host": "ok.example.org", "policy": "block", "reason": "x" * 501}, "at most 500 characters"),
    ):
        page = await admin_web.post(PAGE, data, csrf_from_path=PAGE)
        assert page.status == 422, data
        assert message in page.text, data
    assert await count(app, InstancePolicy) == 0
    missing_csrf = await admin_web.post(PAGE, {"host": "ok.example.org", "policy": "block"}, csrf=False)
    assert missing_csrf.status == 403
    assert await count(app, InstancePolicy) == 0


async def test_only_administrators_decide(web, app):
    anonymous = await web.get(PAGE, allow_redirects=False)
    assert anonymous.status == 303 and "/login" in anonymous.headers["Location"]
    await log_in(web, app, "bob", role="moderator")
    page = await web.post(PAGE, {"host": "x.example.org", "policy": "block"}, csrf_from_path="/")
    assert page.status == 403
    assert await count(app, InstancePolicy) == 0
