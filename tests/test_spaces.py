"""Public pages of spaces and components, and the rules of the spaces service."""
from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from node.appkeys import DB
from node.spaces.models import Phase, Space
from node.spaces.service import SpaceError, activate_phase, add_component, create_space, update_space
from node.web.text import render_text
from tests.spaces_support import admin_web, count, log_in, make_space  # noqa: F401


async def test_spaces_list_shows_published_spaces_and_filters_by_kind(web, app):
    await make_space(app, "budget-2027")
    await make_space(app, "council", kind="assembly")
    await make_space(app, "draft-process", published=False)
    page = await web.get("/spaces")
    assert page.status == 200
    assert "Space budget-2027" in page.text and "Space council" in page.text
    assert "draft-process" not in page.text
    processes = await web.get("/spaces?kind=process")
    assert "Space budget-2027" in processes.text and "Space council" not in processes.text
    assemblies = await web.get("/spaces?kind=assembly")
    assert "Space council" in assemblies.text and "Space budget-2027" not in assemblies.text
    assert (await web.get("/spaces?kind=nonsense")).status == 200


async def test_space_page_shows_phases_with_the_active_one_and_components(web, app):
    space, phases, component = await make_space(app, phases=3, page_body={"en": "Hello"})
    async with app[DB].begin() as db:
        await activate_phase(db, space.id, phases[1].id)
    page = await web.get("/spaces/budget-2027")
    assert page.status == 200
    assert "<h1>Space budget-2027</h1>" in page.text
    assert "A subtitle" in page.text
    assert "<p>First paragraph.</p>" in page.text and "<p>Second one.</p>" in page.text
    assert page.text.count('aria-current="step"') == 1
    active = page.text.split('aria-current="step"')[1].split("</li>")[0]
    assert "Phase number 2" in active
    assert f'href="/spaces/budget-2027/c/{component.id}"' in page.text
    assert 'class="breadcrumbs"' in page.text


async def test_component_page_renders_the_page_body_as_safe_html(web, app):
    body = {"en": "## Rules\n\nBe **kind**. <script>alert(1)</script>\n\n- one\n- two"}
    _space, _phases, component = await make_space(app, page_body=body)
    page = await web.get(f"/spaces/budget-2027/c/{component.id}")
    assert page.status == 200
    assert "<h1>How it works</h1>" in page.text
    assert "<h2>Rules</h2>" in page.text and "<strong>kind</strong>" in page.text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert re.search(r"<ul>\s*<li>one</li>\s*<li>two</li>\s*</ul>", page.text)


@pytest.mark.parametrize("path", ["/spaces/no-such-space", "/spaces/draft/c/1", "/spaces/budget-2027/c/999",
                                  "/spaces/budget-2027/c/abc", "/spaces/draft"])
async def test_unknown_or_unpublished_spaces_and_components_are_friendly_404s(web, app, path):
    await make_space(app, "budget-2027")
    await make_space(app, "draft", published=False, page_body={"en": "x"})
    page = await web.get(path)
    assert page.status == 404
    assert "Page not found" in page.text and "Back to the home page" in page.text


async def test_unpublished_component_is_hidden_from_the_public(web, app):
    space, _phases, _ = await make_space(app)
    async with app[DB].begin() as db:
        hidden = await add_component(db, space, "pages", {"name": {"en": "Secret draft"}, "published": False})
    assert "Secret draft" not in (await web.get("/spaces/budget-2027")).text
    assert (await web.get(f"/spaces/budget-2027/c/{hidden.id}")).status == 404


async def test_admins_see_unpublished_spaces_with_a_notice(admin_web, app):
    _space, _phases, component = await make_space(app, "draft", published=False, page_body={"en": "x"})
    page = await admin_web.get("/spaces/draft")
    assert page.status == 200
    assert "Not published." in page.text
    assert (await admin_web.get(f"/spaces/draft/c/{component.id}")).status == 200


async def test_residents_do_not_see_unpublished_spaces(web, app):
    await make_space(app, "draft", published=False)
    await log_in(web, app, "bob")
    assert (await web.get("/spaces/draft")).status == 404


async def test_translatable_fields_fall_back_to_the_default_language(web, app):
    await make_space(app, title={"en": "Budget in English", "fr": "Budget en français"})
    french = await web.get("/spaces/budget-2027", headers={"Accept-Language": "fr"})
    assert "Budget en français" in french.text
    catalan = await web.get("/spaces/budget-2027", headers={"Accept-Language": "ca"})
    # No Catalan title: the node's default language (English here) is shown instead.
    assert "Budget in English" in catalan.text
    spanish_list = await web.get("/spaces", headers={"Accept-Language": "es"})
    assert "Budget in English" in spanish_list.text


async def test_the_home_page_lists_published_spaces(web, app):
    await make_space(app, "budget-2027")
    page = await web.get("/")
    assert 'href="/spaces/budget-2027"' in page.text


# --- the service's rules --------------------------------------------------------------------

async def _space_error(app, values: dict, *, current_slug: str | None = None) -> dict:
    base = {"slug": "valid-slug", "kind": "process", "title": {"en": "A title"}}
    async with app[DB].begin() as db:
        with pytest.raises(SpaceError) as caught:
            if current_slug:
                space = await db.scalar(select(Space).where(Space.slug == current_slug))
                await update_space(db, space, {**base, **values}, default_locale="en")
            else:
                await create_space(db, {**base, **values}, default_locale="en")
    return caught.value.errors


@pytest.mark.parametrize("values, field", [
    ({"slug": "Bad Slug"}, "slug"), ({"slug": "ab"}, "slug"), ({"slug": "x" * 65}, "slug"),
    ({"slug": "admin"}, "slug"), ({"slug": "new"}, "slug"),
    ({"kind": "party"}, "kind"), ({"federation_policy": "everyone"}, "federation_policy"),
    ({"title": {"fr": "Seulement en français"}}, "title.en"),
    ({"title": {"en": "x" * 201}}, "title.en"), ({"subtitle": {"es": "x" * 301}}, "subtitle.es"),
])
async def test_space_validation(app, server, values, field):
    errors = await _space_error(app, values)
    assert field in errors
    assert await count(app, Space) == 0


async def test_duplicate_slug_and_published_slug_change_are_refused(app, server):
    await make_space(app, "budget-2027")
    assert "slug" in await _space_error(app, {"slug": "budget-2027"})
    await make_space(app, "other-space")
    errors = await _space_error(app, {"slug": "renamed"}, current_slug="other-space")
    assert "cannot change" in errors["slug"]
    assert await count(app, Space) == 2


def test_render_text_keeps_only_safe_markup():
    html = str(render_text("[ok](https://example.org) [bad](javascript:alert(1)) <img src=x onerror=y>",
                           user_content=False))
    assert '<a href="https://example.org" rel="noopener">ok</a>' in html
    assert "javascript:" not in html.split("[bad]")[0] and "<img" not in html


async def test_exactly_one_active_phase_even_under_concurrent_activations(app, server):
    space, phases, _ = await make_space(app, phases=4)
    assert [p.active for p in phases] == [True, False, False, False]

    async def activate(phase):
        async with app[DB].begin() as db:
            await activate_phase(db, space.id, phase.id)

    for _round in range(3):
        await asyncio.gather(*(activate(p) for p in phases))
        async with app[DB]() as db:
            active = (await db.scalars(select(Phase.id).where(Phase.space_id == space.id,
                                                              Phase.active.is_(True)))).all()
        assert len(active) == 1


async def test_activating_a_phase_of_another_space_is_refused(app, server):
    space, _phases, _ = await make_space(app, phases=1)
    _other, other_phases, _ = await make_space(app, "other-space", phases=1)
    async with app[DB].begin() as db:
        with pytest.raises(SpaceError):
            await activate_phase(db, space.id, other_phases[0].id)
    assert await count(app, Phase, Phase.active.is_(True)) == 2
