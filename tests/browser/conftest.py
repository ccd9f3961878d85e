"""Real-browser fixtures: a demo node in a subprocess and Debian's Chromium driven by Playwright.

The node runs as `civicnode demo --port 0` in its own process, so its event loop and the browser
driver's are separate. Chromium is the system one (scripts/test-setup installs Debian's package);
Playwright never downloads a browser here. Both live for this directory's tests and are stopped
at the end.
"""
from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.bench.nodeproc import NodeFailed, demo_space_paths, get, start_demo

CHROMIUM_ARGS = [
    "--no-sandbox",  # we may run as root (CI containers); Chromium refuses its sandbox then
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # The machine's network is closed: keep Chromium from phoning home at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]


def chromium_executable() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Chromium is needed for the browser tests: run scripts/test-setup "
                "(it installs Debian's chromium package with apt-get).")


@pytest.fixture(scope="package")
def demo_node(tmp_path_factory):
    try:
        node = start_demo(tmp_path_factory.mktemp("demo-node") / "data")
    except NodeFailed as exc:
        pytest.fail(f"civicnode demo did not start: {exc}")
    yield node
    node.stop()


@pytest.fixture(scope="package")
def base_url(demo_node) -> str:
    return demo_node.url


@pytest.fixture(scope="package")
def demo_admin(demo_node) -> tuple[str, str]:
    """(username, password) of the demo administrator, as `civicnode demo` prints them."""
    for role, username, password in demo_node.logins:
        if "admin" in role.lower():
            return username, password
    pytest.fail(f"civicnode demo printed no administrator login; it printed: {demo_node.logins}")


@pytest.fixture(scope="package")
def browser():
    executable = chromium_executable()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


def _new_context(browser: Browser, base_url: str, **options) -> BrowserContext:
    # English first, so that the language switch to French is visible in the test.
    context = browser.new_context(base_url=base_url, locale="en-US",
                                  extra_http_headers={"Accept-Language": "en-US,en;q=0.9"}, **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def context(browser, base_url):
    context = _new_context(browser, base_url)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@pytest.fixture
def nojs_context(browser, base_url):
    context = _new_context(browser, base_url, java_script_enabled=False)
    yield context
    context.close()


@pytest.fixture(scope="package")
def demo_paths(demo_node) -> dict[str, str]:
    """Where the demo's process page and one of its components live (read from the pages)."""
    spaces = demo_space_paths(demo_node.url)
    assert spaces, "the demo's home page links to no space (/spaces/<slug>)"
    for space in spaces:
        status, body = get(demo_node.url + space)
        if status != 200:
            continue
        components = sorted(set(re.findall(rf'href="({re.escape(space)}/[^"?#]+)"', body.decode())))
        if components:
            return {"space": space, "component": components[0]}
    pytest.fail(f"no demo space page answering 200 links to a component; spaces: {spaces}")
