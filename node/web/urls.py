"""Redirect targets taken from user input."""
from __future__ import annotations


def safe_next(target: str, default: str = "/") -> str:
    """`target` if it is a path on this node, else `default`.

    An open redirect would let others borrow our address for phishing. Browsers read
    "/\\evil.example" like "//evil.example", hence the backslash test.
    """
    if (not isinstance(target, str) or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 32 for c in target)):
        return default
    return target
