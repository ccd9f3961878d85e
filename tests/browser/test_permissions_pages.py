"""axe-core on the permissions pages: the administrators' form (with its errors) and a proposal
page whose buttons are replaced by the explanation of what is missing.  The demo node is shared
with the other browser tests: the permission set here is removed at the end."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.bench.nodeproc import demo_space_paths, get
from tests.browser.browsing import assert_accessible, follow, log_in

pytestmark = pytest.mark.browser


def proposals_component(base_url: str) -> str:
    """/spaces/<slug>/c/<id> of a demo proposals component (its page offers "New proposal")."""
    for space in demo_space_paths(base_url):
        status, body = get(base_url + space)
        for path in sorted(set(re.findall(rf'href="({re.escape(space)}/c/\d+)"', body.decode()))):
            status, body = get(base_url + path)
            if status == 200 and "/proposals/new" in body.decode():
                return path
    pytest.fail("the demo has no proposals component")


def test_permissions_form_and_explanations_are_accessible(page, demo_admin, base_url):
    component_path = proposals_component(base_url)
    component_id = component_path.rsplit("/", 1)[1]
    log_in(page, *demo_admin)
    page.goto("/admin/spaces")
    admin_path = None
    for href in sorted(set(re.findall(r'href="(/admin/spaces/\d+)"', page.content()))):
        page.goto(href)
        if f'/components/{component_id}"' in page.content():
            admin_path = f"{href}/components/{component_id}/permissions"
            break
    assert admin_path, "no admin space page lists the demo's proposals component"
    response = page.goto(admin_path)
    assert response.status == 200
    assert_accessible(page, f"permissions form {admin_path}")
    # Found by their ids, not their text: the demo administrator may use another language.
    main = page.locator("main")
    save = main.locator('form button[type="submit"]')
    main.locator("#f-postal-codes-support").fill("08001, <08002>")
    response = follow(page, save.click)
    assert response.status == 422
    expect(main.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "permissions form with errors")
    try:
        main.locator("#f-handlers-support-census").check()
        main.locator("#f-postal-codes-support").fill("08001")
        assert follow(page, save.click).status == 200
        page.goto(component_path)
        expect(page.locator(".permission-requirements")).to_be_visible()
        proposal = page.locator('main .proposal-list a[href*="/proposals/"]').first
        follow(page, proposal.click)
        notice = page.locator("main .supports .permission-notice")
        # The demo administrator holds no verification: the explanation replaces the button
        # (checked by structure: the administrator's language may not be English).
        expect(notice).not_to_be_empty()
        expect(page.locator('main .supports form[action$="/support"]')).to_have_count(0)
        expect(notice.get_by_role("link")).to_have_attribute("href", "/account/verifications")
        assert_accessible(page, "proposal page with a refused support")
    finally:
        page.goto(admin_path)
        for box in main.locator('input[name="handlers.support"]').all():
            box.uncheck()
        main.locator("#f-postal-codes-support").fill("")
        assert follow(page, save.click).status == 200
