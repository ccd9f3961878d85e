"""The verification handlers: one module per way of verifying an account, one line each here
(like node/components/registry.py). A module defines `HANDLER`, a Handler."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

REGISTERED = (
    "census",
    "manual",
    "email_domain",
)


@dataclass(frozen=True)
class Handler:
    name: str
    # English label and a one-line explanation for residents (gettext msgids).
    label: str
    description: str
    # The resident's form, and `async (request) -> Response` answering GET and POST on
    # /account/verifications/<name>; None for handlers residents cannot start (manual).
    template: str | None = None
    view: Callable | None = None
    # `async (db) -> bool`: whether residents can use it on this node now (a census uploaded,
    # email domains listed); the resident's page offers only those.
    available: Callable | None = None
    # Settings attribute with the default validity in days (0: until revoked), e.g.
    # census_validity_days in civicnode.toml.
    validity_setting: str = ""


def handlers() -> dict[str, Handler]:
    found = {}
    for name in REGISTERED:
        handler = importlib.import_module(f"node.verification.handlers.{name}").HANDLER
        found[handler.name] = handler
    return found
