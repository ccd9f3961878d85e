"""Instance policy: which remote hosts the node refuses (blocklist) or, in allowlist mode
(`federation_mode = "allowlist"`), the only hosts it federates with.

The table is tiny and read on every inbox POST, so it is kept in memory and re-read at most every
few seconds (other serve processes of the node converge on an admin's change within that time);
changes made through this module apply at once in this process.
"""
from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from node.activitypub.models import INSTANCE_POLICIES, InstancePolicy
from node.db.writes import begin_writing

MODES = ("open", "allowlist")
REFRESH_SECONDS = 5.0


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if "://" in host:
        host = host.split("://", 1)[1]
    return host.split("/", 1)[0]


def _candidates(netloc: str) -> list[str]:
    """A rule matches the exact ``host:port``, the host, or any parent domain of the host
    (blocking ``example.org`` blocks ``social.example.org``, as Mastodon's domain blocks do)."""
    netloc = normalise_host(netloc)
    host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    found = [netloc, host]
    labels = host.split(".")
    if not host.replace(".", "").isdigit():  # no parent "domains" for an IPv4 address
        found += [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    return list(dict.fromkeys(found))


class InstancePolicies:
    def __init__(self, engine: AsyncEngine, mode: str = "open", *, clock=time.monotonic):
        if mode not in MODES:
            raise ValueError(f"federation_mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.engine, self.mode, self._clock = engine, mode, clock
        self._rules: dict[str, str] | None = None
        self._loaded_at = 0.0

    async def _load(self) -> dict[str, str]:
        if self._rules is None or self._clock() - self._loaded_at > REFRESH_SECONDS:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(select(InstancePolicy.host, InstancePolicy.policy))).all()
            self._rules, self._loaded_at = {host: policy for host, policy in rows}, self._clock()
        return self._rules

    async def refusal(self, netloc: str) -> str | None:
        """Why an activity from this host is refused, or None if it may come in."""
        if not netloc:
            return "The activity names no host"
        rules = await self._load()
        matched = [rules[c] for c in _candidates(netloc) if c in rules]
        if "block" in matched:
            return f"This node does not federate with {normalise_host(netloc)} (blocked by its administrators)"
        if self.mode == "allowlist" and "allow" not in matched:
            return (f"This node federates only with approved partners, and {normalise_host(netloc)} "
                    "is not one of them")
        return None

    async def set(self, host: str, policy: str, reason: str = "") -> None:
        if policy not in INSTANCE_POLICIES:
            raise ValueError(f"policy must be one of {', '.join(INSTANCE_POLICIES)}, not {policy!r}")
        host = normalise_host(host)
        async with begin_writing(self.engine) as conn:
            await conn.execute(delete(InstancePolicy).where(InstancePolicy.host == host))
            await conn.execute(InstancePolicy.__table__.insert().values(host=host, policy=policy, reason=reason))
        self._rules = None

    async def remove(self, host: str) -> None:
        async with begin_writing(self.engine) as conn:
            await conn.execute(delete(InstancePolicy).where(InstancePolicy.host == normalise_host(host)))
        self._rules = None
