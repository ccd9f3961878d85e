"""Password hashing with argon2id (argon2-cffi's recommended parameters)."""
from __future__ import annotations

from functools import cache

MIN_LENGTH = 10
MAX_LENGTH = 256


@cache
def _hasher():
    # argon2-cffi is loaded by the first login or registration, not by an idle node.
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@cache
def dummy_hash() -> str:
    """A hash verified against when the account does not exist, so that a failed login takes the
    same time whether or not the username is known. Made on first use, not at import (start-up
    time)."""
    return _hasher().hash("not-a-real-password-used-for-timing-only")
