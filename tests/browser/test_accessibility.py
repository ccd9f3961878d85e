"""axe-core on every kind of page a visitor or an administrator meets: zero serious or critical
violations. Every finding, minor ones included, is printed (pytest -rA shows them)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.browsing import (
    FAILING_IMPACTS, PASSWORD, USERNAME, assert_accessible, axe_violations, button, field, follow,
    format_violations, log_in,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name, path, status", [
    ("home", "/", 200),
    ("spaces index", "/spaces", 200),
    ("processes index", "/spaces?kind=process", 200),
    ("register", "/register", 200),
    ("login", "/login", 200),
    ("password reset request", "/password/forgot", 200),
    ("search results", "/search?q=budget", 200),
    ("search without words", "/search?q=", 200),
    ("not found", "/no-such-page", 404),
])
def test_public_page_is_accessible(page, name, path, status):
    response = page.goto(path)
    assert response.status == status, f"{path} answered {response.status}"
    assert_accessible(page, f"{name} page {path}")


@pytest.mark.parametrize("which", ["space", "component"])
def test_demo_process_pages_are_accessible(page, demo_paths, which):
    path = demo_paths[which]
    response = page.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    assert_accessible(page, f"{which} page {path}")


def test_refused_login_is_accessible(page):
    """A refused log-in explains itself in an accessible way (one failure: far from the lock)."""
    page.goto("/login")
    main = page.locator("main")
    field(main, USERNAME).fill("nobody_here")
    field(main, PASSWORD).fill("not the password")
    response = follow(page, button(main, r"^\s*log ?in\s*$").click)
    assert response.status == 422, f"a refused log-in answered {response.status}"
    expect(main.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "login page after a refused log-in")


def test_registration_errors_are_accessible(page):
    page.goto("/register")
    main = page.locator("main")
    field(main, USERNAME).fill("x")  # too short
    field(main, r"^\s*(nickname|name shown)").fill("X")
    field(main, r"^\s*e-?mail").fill("x@example.org")
    field(main, PASSWORD).fill("one long password")
    field(main, r"password (again|confirm)").fill("another long password")
    response = follow(page, button(main, r"create (my |an )?account").click)
    assert response.status == 422, f"a refused registration answered {response.status}"
    expect(main.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "register page with errors")


def test_admin_dashboard_is_accessible(page, demo_admin):
    username, password = demo_admin
    log_in(page, username, password)
    response = page.goto("/admin")
    assert response.status == 200, f"/admin answered {response.status}"
    expect(page.locator("main h1")).to_be_visible()
    assert_accessible(page, "admin dashboard /admin")


def test_admin_pages_are_accessible(page, demo_admin):
    """Every admin page reachable by links from the dashboard (two levels, bounded)."""
    username, password = demo_admin
    log_in(page, username, password)
    to_visit, seen, reports, visited = ["/admin"], set(), [], []
    while to_visit and len(visited) < 20:
        path = to_visit.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        visited.append(path)
        violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if violations:
            reports.append(format_violations(f"admin page {path}", violations))
        if path.count("/") <= 3:
            links = page.locator('main a[href^="/admin"], nav a[href^="/admin"]').evaluate_all(
                "links => links.map(a => a.getAttribute('href'))")
            to_visit += [link.split("#")[0] for link in links if link.split("#")[0] not in seen]
    print("admin pages checked:", ", ".join(visited))
    assert len(visited) > 1, "the admin dashboard links to no other admin page"
    assert not reports, "\n\n".join(reports)



def test_resident_pages_are_accessible(page, demo_node):
    """The pages of a logged-in resident: notifications, verifications, groups (the demo's first
    resident administers parents_centre, so its edit form too) and settings."""
    username, password = next((u, p) for role, u, p in demo_node.logins if "resident" in role.lower())
    log_in(page, username, password)
    reports = []
    for path in ("/notifications", "/account/verifications", "/account", "/groups", "/groups/new",
                 "/groups/parents_centre", "/groups/parents_centre/edit"):
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if violations:
            reports.append(format_violations(f"resident page {path}", violations))
    assert not reports, "\n\n".join(reports)


def test_cohosting_pages_are_accessible(page, demo_node, demo_admin):
    """Co-hosting, as the demo sets it up: the budget's partner nodes and offered proposals (the
    city's administrator), the city's partnerships page, and the shared proposal's page."""
    username, password = demo_admin
    log_in(page, username, password)
    page.goto("/admin/spaces")
    links = page.locator('main a[href^="/admin/spaces/"]').evaluate_all("links => links.map(a => a.getAttribute('href'))")
    ids = sorted({link.split("/")[3] for link in links if link.split("/")[3].isdigit()})
    # The budget: the space whose offers page holds the collective's accepted proposal.
    space_id = next((i for i in ids if page.goto(f"/admin/spaces/{i}/offers").status == 200
                     and page.locator('main a[href^="/spaces/"][href*="/proposals/"]').count()), None)
    assert space_id, f"no demo space ({ids}) holds the collective's shared proposal"
    reports = []
    for path in (f"/admin/spaces/{space_id}/partners", f"/admin/spaces/{space_id}/offers", "/admin/partnerships"):
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if violations:
            reports.append(format_violations(f"co-hosting page {path}", violations))
    page.goto(f"/admin/spaces/{space_id}/offers")
    path = page.locator('main a[href^="/spaces/"][href*="/proposals/"]').first.get_attribute("href")
    assert page.goto(path).status == 200 and page.locator("#shares").count() == 1
    violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    if violations:
        reports.append(format_violations(f"shared proposal {path}", violations))
    assert not reports, "\n\n".join(reports)
