"""Account rules: creating users, validating their fields. Views and the CLI both call these."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from node.accounts.models import ROLES, User
from node.accounts.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from node.config import LOCALES

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
        return "Use at least 10 characters for your password."
    if len(password) > MAX_LENGTH:
        return "Use at most 256 characters for your password."
    return None


def validate_new_user(username: str, email: str, password: str, nickname: str) -> dict[str, str]:
    errors = {}
    if not USERNAME_RE.match(username):
        errors["username"] = "Use 3 to 30 lower-case letters, digits or underscores."
    elif username in RESERVED_USERNAMES:
        errors["username"] = "This name is reserved; choose another one."
    if len(email) > 254 or not EMAIL_RE.match(email):
        errors["email"] = "Enter an email address like name@example.org."
    problem = validate_password(password)
    if problem:
        errors["password"] = problem
    if not nickname.strip():
        errors["nickname"] = "Enter the name other people will see."
    elif len(nickname) > 60:
        errors["nickname"] = "Use at most 60 characters for your name."
    return errors


async def create_user(db, *, username: str, email: str, password: str, nickname: str = "",
                      role: str = "user", locale: str | None = None) -> User:
    """Create a user inside the caller's transaction. Raises AccountError listing every problem."""
    username = username.strip().lower()
    email = email.strip().lower()
    nickname = (nickname or username).strip()
    errors = validate_new_user(username, email, password, nickname)
    if role not in ROLES:
        errors["role"] = "Unknown role."
    if locale is not None and locale not in LOCALES:
        errors["locale"] = "Choose one of the languages offered."
    if not errors:
        if await db.scalar(select(User.id).where(User.username == username)):
            errors["username"] = "This name is already taken; choose another one."
        if await db.scalar(select(User.id).where(User.email == email)):
            errors["email"] = "An account already uses this email address. Log in or reset your password."
    if errors:
        raise AccountError(errors)
    user = User(username=username, email=email, password_hash=hash_password(password),
                nickname=nickname, role=role, locale=locale)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:
        # Two registrations raced past the checks above; the unique constraints decided.
        raise AccountError({"username": "This name or email address was just taken; choose another one."}) from None
    return user
