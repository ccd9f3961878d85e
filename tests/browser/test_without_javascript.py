"""The pages work with JavaScript switched off: logging in, out and the language switch are
plain HTML forms."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.browsing import follow, log_in, log_out

pytestmark = pytest.mark.browser


def test_log_in_browse_log_out_and_switch_language_without_javascript(nojs_context, demo_admin,
                                                                      demo_paths):
    page = nojs_context.new_page()
    page.set_content('<p id="state">off</p><script>document.getElementById("state").textContent = "on"</script>')
    expect(page.locator("#state")).to_have_text("off")  # the context really runs no page scripts

    username, password = demo_admin
    log_in(page, username, password)
    response = page.goto(demo_paths["space"])
    assert response.status == 200
    expect(page.locator("main h1")).to_be_visible()
    log_out(page)

    page.goto(demo_paths["space"])
    page.locator("header select[name=locale]").select_option("es")
    language_form = page.locator("header form").filter(has=page.locator("select[name=locale]"))
    response = follow(page, language_form.get_by_role("button").click)
    assert response.status == 200
    expect(page).to_have_url(re.compile(re.escape(demo_paths["space"]) + "$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.close()
