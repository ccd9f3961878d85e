"""Account rules: creating users, validating their fields. Views and the CLI both call these."""
from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from node.accounts.models import ROLES, User
from node.accounts.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from node.config import LOCALES
from node.groups.models import UserGroup
from node.i18n import N_
from node.spaces.models import Space

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
RESERVED_USERNAMES = {"admin", "actor", "api", "static", "spaces", "users", "login", "logout",
                      "register", "inbox", "outbox", "well-known", "healthz", "metrics", "node"}


class AccountError(Exception):
    """A field is invalid; `errors` maps field name -> message (a gettext msgid)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def validate_password(password: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return N_("Use at least 10 characters for your password.")
    if len(password) > MAX_LENGTH:
        return N_("Use at most 256 characters for your password.")
    return None


def validate_new_user(username: str, email: str, password: str, nickname: str) -> dict[str, str]:
    errors = {}
    if not USERNAME_RE.match(username):
        errors["username"] = N_("Use 3 to 30 lower-case letters, digits or underscores.")
    elif username in RESERVED_USERNAMES:
        errors["username"] = N_("This name is reserved; choose another one.")
    if len(email) > 254 or not EMAIL_RE.match(email):
        errors["email"] = N_("Enter an email address like name@example.org.")
    problem = validate_password(password)
    if problem:
        errors["password"] = problem
    if not nickname.strip():
        errors["nickname"] = N_("Enter the name other people will see.")
    elif len(nickname) > 60:
        errors["nickname"] = N_("Use at most 60 characters for your name.")
    return errors


async def create_user(db, *, username: str, email: str, password: str, nickname: str = "",
                      role: str = "user", locale: str | None = None) -> User:
    """Create a user inside the caller's transaction. Raises AccountError listing every problem."""
    username = username.strip().lower()
    email = email.strip().lower()
    nickname = (nickname or username).strip()
    errors = validate_new_user(username, email, password, nickname)
    if role not in ROLES:
        errors["role"] = N_("Unknown role.")
    if locale is not None and locale not in LOCALES:
        errors["locale"] = N_("Choose one of the languages offered.")
    if not errors:
        # Users and spaces share one actor namespace (acct:name@host in WebFinger).
        if (await db.scalar(select(User.id).where(User.username == username))
                or await db.scalar(select(Space.id).where(Space.slug == username))
                or await db.scalar(select(UserGroup.id).where(UserGroup.nickname == username))):
            errors["username"] = N_("This name is already taken; choose another one.")
        if await db.scalar(select(User.id).where(User.email == email)):
            errors["email"] = N_("An account already uses this email address. Log in or reset your password.")
    if errors:
        raise AccountError(errors)
    # argon2 takes tens of milliseconds of CPU: off the event loop, other requests keep flowing.
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(username=username, email=email, password_hash=password_hash,
                nickname=nickname, role=role, locale=locale)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        # Two registrations raced past the checks above; the unique constraints decided.
        raise AccountError({"username": N_("This name or email address was just taken; "
                                           "choose another one.")}) from None
    return user


ABOUT_MAX = 2000


async def find_for_login(db, identifier: str) -> User | None:
    """The user whose username or email address is `identifier` (case-insensitive)."""
    identifier = identifier.strip().lower()
    if not identifier or len(identifier) > 254:
        return None
    column = User.email if "@" in identifier else User.username
    return await db.scalar(select(User).where(column == identifier))


async def update_profile(db, user: User, *, nickname: str, about: str, locale: str | None) -> None:
    nickname = nickname.strip()
    about = about.strip()
    errors = {}
    if not nickname:
        errors["nickname"] = N_("Enter the name other people will see.")
    elif len(nickname) > 60:
        errors["nickname"] = N_("Use at most 60 characters for your name.")
    if len(about) > ABOUT_MAX:
        errors["about"] = N_("Use at most 2000 characters to present yourself.")
    if locale is not None and locale not in LOCALES:
        errors["locale"] = N_("Choose one of the languages offered.")
    if errors:
        raise AccountError(errors)
    user.nickname, user.about, user.locale = nickname, about, locale


async def set_password(db, user: User, password: str, confirmation: str) -> None:
    """Replace the password (reset or change); the caller ends the user's other sessions."""
    errors = {}
    problem = validate_password(password)
    if problem:
        errors["password"] = problem
    if password != confirmation:
        errors["password_confirm"] = N_("The two passwords differ; type the same password twice.")
    if errors:
        raise AccountError(errors)
    user.password_hash = await asyncio.to_thread(hash_password, password)


async def set_role(db, user: User, role: str) -> None:
    """Make `user` a plain user, a moderator or an administrator.

    The last administrator cannot be demoted: nobody could then reach the admin area to undo it.
    """
    if role not in ROLES:
        raise AccountError({"role": N_("Unknown role.")})
    if user.role == "admin" and role != "admin":
        admins = await db.scalar(select(func.count()).select_from(User).where(User.role == "admin"))
        if admins <= 1:
            raise AccountError({"role": N_("This is the node's only administrator; make someone "
                                           "else an administrator first.")})
    user.role = role
