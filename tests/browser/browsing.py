"""What the browser tests do on a page: find fields by label, log in and out, run axe-core."""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, Response, expect

# axe impacts that fail a page; "minor" and "moderate" findings are printed but do not fail.
FAILING_IMPACTS = ("serious", "critical")

_axe = Axe()  # carries axe.min.js inside the package: nothing is fetched


def axe_violations(page: Page) -> list[dict]:
    # axe.run() settles through page timers: in a context with JavaScript off it never returns.
    return _axe.run(page).response["violations"]


def format_violations(where: str, violations: list[dict]) -> str:
    lines = [f"axe-core on {where}: {len(violations)} violation(s)"]
    for violation in violations:
        lines.append(f"- rule {violation['id']} ({violation['impact']}): {violation['help']} "
                     f"<{violation.get('helpUrl', '')}>")
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    selector {target}: {node['html'][:240]}")
            summary = node.get("failureSummary")
            if summary:
                lines.append("      " + summary.replace("\n", "\n      "))
    return "\n".join(lines)


def assert_accessible(page: Page, where: str) -> None:
    """Zero serious or critical axe-core violations; every finding is printed either way."""
    violations = axe_violations(page)
    if violations:
        print(format_violations(where, violations))
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, format_violations(where, failing)


def field(scope: Page | Locator, pattern: str) -> Locator:
    """The form control whose label matches `pattern` (a case-insensitive regular expression)."""
    return scope.get_by_label(re.compile(pattern, re.I)).first


def button(scope: Page | Locator, pattern: str) -> Locator:
    return scope.get_by_role("button", name=re.compile(pattern, re.I)).first


def follow(page: Page, action) -> Response:
    """Do `action` (a click, a submit) and return the response of the page it leads to."""
    with page.expect_navigation() as navigation:
        action()
    response = navigation.value
    assert response is not None, "the action did not load a page"
    return response


# Found by where they lead, not by their text: a logged-in account may use another language.
def logout_button(page: Page) -> Locator:
    return page.locator('header form[action="/logout"]').get_by_role("button")


def login_link(page: Page) -> Locator:
    return page.locator('header a[href^="/login"]')


USERNAME = r"^\s*(user ?name|username or e-?mail( address)?|e-?mail( address)? or username)\b"
PASSWORD = r"^\s*password\b(?!.*(again|confirm|repeat))"


def log_in(page: Page, username: str, password: str) -> Response:
    page.goto("/login")
    main = page.locator("main")
    field(main, USERNAME).fill(username)
    field(main, PASSWORD).fill(password)
    response = follow(page, button(main, r"^\s*log ?in\s*$").click)
    assert response.ok, f"logging in as {username} answered {response.status}"
    expect(logout_button(page)).to_be_visible()
    return response


def log_out(page: Page) -> None:
    follow(page, logout_button(page).click)
    expect(login_link(page)).to_be_visible()
