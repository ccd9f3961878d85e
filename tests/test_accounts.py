"""Accounts over real HTTP: registration, log-in/out, profiles, account settings, bad input."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from node.accounts.models import User
from node.accounts.passwords import verify_password
from node.appkeys import DB, NODE_INFO

PASSWORD = "correct horse battery"


def registration(**overrides) -> dict:
    fields = {"username": "alice", "nickname": "Alice Martin", "email": "alice@example.org",
              "password": PASSWORD, "password_confirm": PASSWORD, "locale": "en"}
    fields.update(overrides)
    return fields


async def register(web, **overrides):
    return await web.post("/register", registration(**overrides), csrf_from_path="/register",
                          allow_redirects=False)


async def count_users(app) -> int:
    async with app[DB]() as db:
        return await db.scalar(select(func.count()).select_from(User))


async def get_user(app, username: str) -> User | None:
    async with app[DB]() as db:
        return await db.scalar(select(User).where(User.username == username))


def logged_in_as(page, nickname: str) -> bool:
    return nickname in page.text and "Log out" in page.text


async def test_register_logs_in_then_logout_and_login_by_username_and_email(web, app):
    form = await web.get("/register")
    assert form.status == 200
    for name in ("username", "nickname", "email", "password", "password_confirm", "locale"):
        assert f'<label for="f-{name}">' in form.text and f'id="f-{name}"' in form.text

    page = await register(web)
    assert page.status == 303 and page.headers["Location"] == "/users/alice"
    home = await web.get("/")
    assert logged_in_as(home, "Alice Martin")
    user = await get_user(app, "alice")
    assert user.email == "alice@example.org" and user.role == "user" and user.locale == "en"
    assert user.password_hash.startswith("$argon2id$")

    out = await web.post("/logout", csrf_from_path="/", allow_redirects=False)
    assert out.status == 303
    assert not logged_in_as(await web.get("/"), "Alice Martin")

    page = await web.login("alice", PASSWORD)
    assert page.status == 200 and logged_in_as(page, "Alice Martin")
    await web.post("/logout", csrf_from_path="/")
    page = await web.login("Alice@Example.org", PASSWORD)
    assert logged_in_as(page, "Alice Martin")
    assert (await get_user(app, "alice")).last_login_at is not None


async def test_profile_page_shows_nickname_about_date_and_role(web, app):
    await register(web)
    page = await web.get("/users/alice")
    assert page.status == 200
    assert "Alice Martin" in page.text and "@alice" in page.text and "Member since" in page.text
    assert "badge" not in page.text
    async with app[DB].begin() as db:
        user = await db.scalar(select(User).where(User.username == "alice"))
        user.role, user.about = "moderator", "I garden.\n\nAnd I <b>cycle</b>."
    page = await web.get("/users/alice")
    assert "Moderator" in page.text and "<p>I garden.</p>" in page.text
    assert "&lt;b&gt;cycle&lt;/b&gt;" in page.text


async def test_unknown_profile_is_a_404_page(web):
    page = await web.get("/users/nobody")
    assert page.status == 404 and "No member of this node has this username" in page.text
    assert (await web.get("/users/" + "x" * 300)).status == 404


@pytest.mark.parametrize("overrides, field, message", [
    ({"email": "not-an-email"}, "email", "Enter an email address like name@example.org."),
    ({"password": "short", "password_confirm": "short"}, "password", "Use at least 10 characters"),
    ({"password_confirm": "something else entirely"}, "password_confirm", "The two passwords differ"),
    ({"username": "a" * 31}, "username", "Use 3 to 30 lower-case letters"),
    ({"username": "Bad Name!"}, "username", "Use 3 to 30 lower-case letters"),
    ({"nickname": "n" * 61}, "nickname", "Use at most 60 characters"),
    ({"email": "a" * 250 + "@example.org"}, "email", "Enter an email address"),
    ({"password": "p" * 300, "password_confirm": "p" * 300}, "password", "Use at most 256 characters"),
    ({"locale": "de"}, "locale", "Choose one of the languages offered."),
    ({"username": "admin"}, "username", "This name is reserved"),
])
async def test_bad_registration_is_422_with_message_next_to_field_and_nothing_stored(
        web, app, overrides, field, message):
    page = await register(web, **overrides)
    assert page.status == 422
    assert message in page.text
    error = re.search(rf'<p class="field-error" id="f-{field}-error">', page.text)
    assert error, page.text
    assert re.search(rf'id="f-{field}"[^>]*aria-describedby="[^"]*f-{field}-error"', page.text)
    assert await count_users(app) == 0
    # What the person typed is kept, except passwords.
    if field != "nickname":
        assert 'value="Alice Martin"' in page.text
    assert PASSWORD not in page.text and "p" * 300 not in page.text


async def test_duplicate_username_and_email_are_refused(web, app):
    await register(web)
    await web.post("/logout", csrf_from_path="/")
    page = await register(web, email="other@example.org")
    assert page.status == 422 and "already taken" in page.text
    page = await register(web, username="alice2", email="ALICE@example.org")
    assert page.status == 422 and "already uses this email address" in page.text
    assert await count_users(app) == 1


async def test_missing_csrf_token_stores_nothing(web, app):
    await web.get("/register")
    page = await web.post("/register", registration(), csrf=False, allow_redirects=False)
    assert page.status == 403 and "security token" in page.text
    assert await count_users(app) == 0


async def test_malformed_form_is_422_not_a_crash(web, app):
    page = await web.post("/register", {"username": "bob"}, csrf_from_path="/register")
    assert page.status == 422
    page = await web.post("/login", {}, csrf_from_path="/login")
    assert page.status == 422 and "Enter your username or email address." in page.text
    assert await count_users(app) == 0


async def test_closed_registration_is_403_with_explanation(web, app):
    app[NODE_INFO]["registration_open"] = False
    page = await web.get("/register")
    assert page.status == 403 and "Registration is closed" in page.text
    page = await web.post("/register", registration(), csrf_from_path="/")
    assert page.status == 403
    assert await count_users(app) == 0
    assert 'href="/register"' not in (await web.get("/login")).text


async def test_wrong_password_and_unknown_user_get_the_same_answer(web):
    await register(web)
    await web.post("/logout", csrf_from_path="/")
    wrong = await web.login("alice", "not the password")
    unknown = await web.login("nobody", "not the password")
    assert wrong.status == unknown.status == 422
    assert "The username, email address or password is not right" in wrong.text
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731
    assert strip(wrong.text) == strip(unknown.text)
    assert 'value="alice"' in wrong.text and "not the password" not in wrong.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
async def test_login_next_only_goes_to_local_paths(web, target):
    await register(web)
    await web.post("/logout", csrf_from_path="/")
    page = await web.post("/login", {"username": "alice", "password": PASSWORD, "next": target},
                          csrf_from_path="/login", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/"


async def test_account_settings_require_login_and_come_back(web):
    page = await web.get("/account", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/account"
    for path in ("/account", "/account/password"):
        posted = await web.post(path, {"nickname": "x"}, csrf_from_path="/", allow_redirects=False)
        assert posted.status == 303 and posted.headers["Location"].startswith("/login?next=")
    await register(web)
    await web.post("/logout", csrf_from_path="/")
    login_page = await web.get("/login?next=/account")
    assert 'name="next" value="/account"' in login_page.text
    page = await web.post("/login", {"username": "alice", "password": PASSWORD, "next": "/account"},
                          csrf_from_path="/login?next=/account", allow_redirects=False)
    assert page.headers["Location"] == "/account"


async def test_profile_settings_and_locale_change_the_page_language(web, app):
    await register(web)
    page = await web.post("/account", {"nickname": "Alice M.", "about": "Hello there", "locale": "fr"},
                          csrf_from_path="/account", allow_redirects=False)
    assert page.status == 303
    home = await web.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in home.text and "Alice M." in home.text
    user = await get_user(app, "alice")
    assert (user.nickname, user.about, user.locale) == ("Alice M.", "Hello there", "fr")
    page = await web.post("/account", {"nickname": "Alice", "about": "", "locale": "es"},
                          csrf_from_path="/account")
    assert '<html lang="es">' in page.text


async def test_bad_profile_settings_are_422_and_nothing_changes(web, app):
    await register(web)
    page = await web.post("/account", {"nickname": "Alice M.", "about": "x" * 2001, "locale": "fr"},
                          csrf_from_path="/account")
    assert page.status == 422 and "at most 2000 characters" in page.text
    assert 'value="Alice M."' in page.text
    page = await web.post("/account", {"nickname": " ", "about": "", "locale": "fr"},
                          csrf_from_path="/account")
    assert page.status == 422 and "Enter the name other people will see." in page.text
    user = await get_user(app, "alice")
    assert (user.nickname, user.about, user.locale) == ("Alice Martin", "", "en")


async def test_change_password_needs_the_current_one(web, app):
    await register(web)
    new = "a brand new passphrase"
    page = await web.post("/account/password", {"current_password": "wrong password!", "password": new,
                                                "password_confirm": new}, csrf_from_path="/account")
    assert page.status == 422 and "This is not your current password." in page.text
    page = await web.post("/account/password", {"current_password": PASSWORD, "password": new,
                                                "password_confirm": "different"}, csrf_from_path="/account")
    assert page.status == 422 and "The two passwords differ" in page.text
    assert verify_password((await get_user(app, "alice")).password_hash, PASSWORD)
    page = await web.post("/account/password", {"current_password": PASSWORD, "password": new,
                                                "password_confirm": new}, csrf_from_path="/account")
    assert page.status == 200 and "Your new password is set" in page.text
    assert verify_password((await get_user(app, "alice")).password_hash, new)
    await web.post("/logout", csrf_from_path="/")
    assert logged_in_as(await web.login("alice", new), "Alice Martin")


async def test_set_role_and_the_last_administrator_stays(web, app):
    from node.accounts.roles import has_role
    from node.accounts.service import AccountError, create_user, set_role

    async with app[DB].begin() as db:
        boss = await create_user(db, username="boss", email="boss@example.org", password=PASSWORD,
                                 role="admin")
        mod = await create_user(db, username="mod", email="mod@example.org", password=PASSWORD)
        await set_role(db, mod, "moderator")
    assert has_role(mod, "moderator") and not has_role(mod, "admin") and has_role(boss, "moderator")
    assert not has_role(None, "user")
    for role, message in (("emperor", "Unknown role."), ("user", "only administrator")):
        with pytest.raises(AccountError) as caught:
            async with app[DB].begin() as db:
                await set_role(db, await db.get(User, boss.id), role)
        assert message in caught.value.errors["role"]
    async with app[DB].begin() as db:
        await set_role(db, await db.get(User, mod.id), "admin")
        await set_role(db, await db.get(User, boss.id), "user")
    assert (await get_user(app, "boss")).role == "user"
    assert "Administrator" in (await web.get("/users/mod")).text
