"""A visitor's walk in a real Chromium: register, log out, log in, browse the demo process and
one of its components, switch the language to French. axe-core checks each page on the way."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.browsing import (
    PASSWORD, USERNAME, assert_accessible, button, field, follow, log_in, log_out, logout_button,
)

pytestmark = pytest.mark.browser


def register(page, username: str, email: str, password: str):
    main = page.locator("main")
    field(main, USERNAME).fill(username)
    field(main, r"^\s*e-?mail\b").fill(email)
    field(main, PASSWORD).fill(password)
    confirm = main.get_by_label(re.compile(r"(again|confirm|repeat)", re.I))
    if confirm.count():
        confirm.first.fill(password)
    nickname = main.get_by_label(re.compile(r"^\s*(nickname|name shown|display name|public name)", re.I))
    if nickname.count():
        nickname.first.fill(f"Walker {username[-4:]}")
    return follow(page, button(main, r"^\s*(register|create (my |an )?account|sign up)\s*$").click)


def test_register_log_out_log_in_browse_and_switch_language(page, demo_paths):
    response = page.goto("/")
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_accessible(page, "home")

    follow(page, page.locator("header").get_by_role("link", name=re.compile(r"^\s*register\s*$", re.I)).click)
    expect(page).to_have_url(re.compile(r"/register"))
    assert_accessible(page, "register")

    username = f"walker{uuid.uuid4().hex[:8]}"
    password = "a long walk in the park 42"
    response = register(page, username, f"{username}@example.org", password)
    assert response.ok, f"registering answered {response.status}: {page.locator('main').inner_text()}"
    expect(logout_button(page)).to_be_visible()  # registering logs the new account in
    expect(page.locator("header").locator(f'a[href="/users/{username}"]')).to_be_visible()
    assert_accessible(page, f"page after registering ({page.url})")
    response = page.goto("/account")
    assert response.status == 200, f"/account answered {response.status}"
    assert_accessible(page, "account settings /account")
    response = page.goto(f"/users/{username}")
    assert response.status == 200
    assert_accessible(page, f"profile /users/{username}")

    log_out(page)
    log_in(page, username, password)
    expect(page.locator("header").locator(f'a[href="/users/{username}"]')).to_be_visible()

    # Browse: the home page links to the demo process, the process page to its component.
    page.goto("/")
    space_link = page.locator(f'main a[href="{demo_paths["space"]}"]').first
    response = follow(page, space_link.click)
    assert response.status == 200
    expect(page.locator("main h1")).to_be_visible()
    assert_accessible(page, f"process page {demo_paths['space']} (logged in)")

    component_link = page.locator(f'main a[href="{demo_paths["component"]}"]').first
    response = follow(page, component_link.click)
    assert response.status == 200
    expect(page.locator("main h1")).to_be_visible()
    assert_accessible(page, f"component page {demo_paths['component']} (logged in)")

    # Switch language with the header's form; we come back to the same page, in French.
    english_button = page.locator("header form").get_by_role("button", name="Change")
    expect(english_button).to_be_visible()
    page.locator("header select[name=locale]").select_option(label="Français")
    response = follow(page, english_button.click)
    assert response.status == 200
    expect(page).to_have_url(re.compile(re.escape(demo_paths["component"]) + r"$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert response.headers.get("content-language") == "fr"
    assert_accessible(page, f"component page {demo_paths['component']} in French")

    # The choice sticks to the account: the home page is in French too.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("header select[name=locale]")).to_have_value("fr")
