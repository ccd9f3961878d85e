"""The email domains whose addresses the email-domain handler accepts, kept in node_settings."""
from __future__ import annotations

import re

from node.nodemodels import NodeSetting

SETTING = "verification_email_domains"
MAX_DOMAINS = 200
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_ADDRESS = re.compile(r"^[^\s@]{1,64}@([^\s@]{1,253})$")


async def allowed_domains(db) -> list[str]:
    row = await db.get(NodeSetting, SETTING)
    return list(row.value) if row and row.value else []


async def set_domains(db, domains: list[str]) -> None:
    row = await db.get(NodeSetting, SETTING)
    if row is None:
        db.add(NodeSetting(key=SETTING, value=domains))
    else:
        row.value = domains


def parse_domains(text: str) -> tuple[list[str], list[str]]:
    """(domains, invalid entries) from one domain per line (commas and spaces also separate)."""
    found, invalid = [], []
    for entry in re.split(r"[\s,;]+", text or ""):
        entry = entry.strip().lower().lstrip("@").rstrip(".")
        if not entry:
            continue
        if not _DOMAIN.match(entry):
            invalid.append(entry[:80])
        elif entry not in found:
            found.append(entry)
    return found[:MAX_DOMAINS], invalid


def address_domain(address: str) -> str | None:
    """The lower-cased domain of a plausible address, or None."""
    match = _ADDRESS.match((address or "").strip())
    return match.group(1).lower().rstrip(".") if match else None
