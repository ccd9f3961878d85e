"""The delivery queue's database operations: claim due deliveries, record what happened, keep
host health.  The decisions themselves are federation.delivery's; the loop is worker.py's.

Claiming is safe with several workers on PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED, then a
conditional UPDATE); SQLite has a single writer and runs one worker per node (the conditional
UPDATE still keeps a second one from double-sending).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased

from federation import delivery as rules
from node.activitypub.delivery_models import (DELIVERED, FAILED, IN_FLIGHT, LIVE, PENDING, SKIPPED, Delivery,
                                              HostState)
from node.activitypub.outbox import host_of
from node.db.base import utcnow

__all__ = ["Job", "Outcome", "claim", "mark_host_alive", "queue_summary", "reclaim_expired", "record_outcomes",
           "release"]

_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class Job:
    id: int
    outbox_activity_id: int
    inbox_url: str
    host: str
    attempts: int  # including the one being made
    claimed_by: str
    probe: bool = False


def _earlier_live():
    """True when an earlier activity's delivery to the same host about the same object is live:
    this one must wait (Create before Update before Delete).  Deliveries of one activity to
    several inboxes do not wait for each other."""
    earlier = aliased(Delivery)
    return exists().where(earlier.host == Delivery.host, earlier.object_key == Delivery.object_key,
                          earlier.outbox_activity_id < Delivery.outbox_activity_id,
                          earlier.status.in_(LIVE))


def _host_shut(now: datetime):
    # Hosts whose circuit is open send nothing and are not even looked at; unavailable hosts'
    # deliveries are looked at, to be skipped (or one sent as a probe).
    return exists().where(HostState.host == Delivery.host, HostState.circuit_open_until > now,
                          HostState.unavailable_since.is_(None))


async def reclaim_expired(db, now: datetime) -> int:
    """Deliveries whose claimant died (lease past) become pending again.  The receiver may or
    may not have got the POST; it will get it again, and inboxes are idempotent on activity id."""
    result = await db.execute(
        update(Delivery).where(Delivery.status == IN_FLIGHT, Delivery.lease_until < now)
        .values(status=PENDING, claimed_by=None, lease_until=None, next_attempt_at=now)
        .execution_options(**_NO_SYNC))
    return result.rowcount or 0


async def release(db, claimed_by: str, now: datetime) -> int:
    """A worker stopping cleanly hands back what it had claimed and not finished."""
    result = await db.execute(
        update(Delivery).where(Delivery.status == IN_FLIGHT, Delivery.claimed_by == claimed_by)
        .values(status=PENDING, claimed_by=None, lease_until=None, next_attempt_at=now)
        .execution_options(**_NO_SYNC))
    return result.rowcount or 0


async def claim(db, *, token: str, now: datetime, slots: int, host_slots: dict[str, int],
                per_host: int, busy_hosts: Collection[str], lease: timedelta,
                policy: rules.Policy) -> tuple[list[Job], int]:
    """Claim up to ``slots`` due deliveries (at most ``host_slots.get(host, per_host)`` per
    host, none for ``busy_hosts``); returns them and how many deliveries to unavailable hosts
    were marked skipped on the way (all but one probe)."""
    if slots <= 0:
        return [], 0
    query = (select(Delivery.id, Delivery.host)
             .where(Delivery.status == PENDING, Delivery.next_attempt_at <= now,
                    ~_earlier_live(), ~_host_shut(now))
             .order_by(Delivery.next_attempt_at, Delivery.id)
             .limit(max(slots * 4, 32)))
    if busy_hosts:
        query = query.where(Delivery.host.notin_(list(busy_hosts)))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Delivery)
    candidates = (await db.execute(query)).all()
    if not candidates:
        return [], 0
    hosts = {host for _, host in candidates}
    states = {h.host: h for h in await db.scalars(select(HostState).where(HostState.host.in_(hosts)))}
    chosen: list[int] = []
    probes: set[int] = set()
    skipped: list[int] = []
    taken: dict[str, int] = {}
    half_open_done: set[str] = set()
    for delivery_id, host in candidates:
        if len(chosen) >= slots:
            break
        phase = rules.host_phase(states.get(host), now, policy)
        if phase in (rules.Phase.UNAVAILABLE, rules.Phase.UNAVAILABLE_PROBE):
            if phase is rules.Phase.UNAVAILABLE_PROBE and host not in half_open_done:
                half_open_done.add(host)
                if await _take_probe(db, host, now, policy):
                    chosen.append(delivery_id)
                    probes.add(delivery_id)
                    continue
            skipped.append(delivery_id)
            continue
        if phase is rules.Phase.HALF_OPEN:
            if host in half_open_done:
                continue
            half_open_done.add(host)
            if await _take_probe(db, host, now, policy):
                chosen.append(delivery_id)
                probes.add(delivery_id)
            continue
        if phase is not rules.Phase.CLOSED or taken.get(host, 0) >= host_slots.get(host, per_host):
            continue
        taken[host] = taken.get(host, 0) + 1
        chosen.append(delivery_id)
    if skipped:
        await db.execute(update(Delivery).where(Delivery.id.in_(skipped), Delivery.status == PENDING)
                         .values(status=SKIPPED, last_error="host unavailable: not sent")
                         .execution_options(**_NO_SYNC))
    if not chosen:
        return [], len(skipped)
    # Conditional: on SQLite the SELECT above took no lock, so re-check the status here.
    rows = (await db.execute(
        update(Delivery).where(Delivery.id.in_(chosen), Delivery.status == PENDING)
        .values(status=IN_FLIGHT, claimed_by=token, lease_until=now + lease, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.outbox_activity_id, Delivery.inbox_url, Delivery.host, Delivery.attempts)
        .execution_options(**_NO_SYNC))).all()
    rows.sort()  # RETURNING's order is not guaranteed; claim order is id order within a due time
    return [Job(i, a, url, host, attempts, token, i in probes) for i, a, url, host, attempts in rows], len(skipped)


async def _take_probe(db, host: str, now: datetime, policy: rules.Policy) -> bool:
    """Only one worker probes a host: whoever moves circuit_open_until forward first."""
    result = await db.execute(
        update(HostState).where(HostState.host == host,
                                or_(HostState.circuit_open_until.is_(None), HostState.circuit_open_until <= now))
        .values(circuit_open_until=now + policy.probe_timeout).execution_options(**_NO_SYNC))
    return bool(result.rowcount)


@dataclass(frozen=True)
class Outcome:
    """What one POST got: an HTTP status, or None and an error (transient: worth retrying)."""

    now: datetime
    status: int | None
    error: str | None = None
    transient: bool = True
    retry_after: str | None = None


async def record_outcomes(db, items: list[tuple[Job, Outcome]], *, policy: rules.Policy,
                          rng: Callable[[], float] = random.random) -> list[str]:
    """Store the outcomes of a batch of POSTs; returns each delivery's new status.  Successes,
    the common case, cost one UPDATE for the batch plus one for the hosts' health."""
    results: list[str] = []
    delivered: list[tuple[Job, Outcome]] = []
    alive: dict[str, datetime] = {}
    for job, outcome in items:
        verdict = rules.classify(outcome.status, transient_error=outcome.transient)
        if verdict == rules.DELIVERED:
            delivered.append((job, outcome))
            alive[job.host] = outcome.now
            results.append(DELIVERED)
            continue
        if not rules.counts_against_host(outcome.status):
            alive[job.host] = outcome.now
        results.append(await _record_failure(db, job, outcome, verdict, policy, rng))
    if delivered:
        now = max(o.now for _, o in delivered)
        # Whoever holds the row now, the receiver acknowledged: it must never get it again.
        for status in {o.status for _, o in delivered}:
            ids = [job.id for job, o in delivered if o.status == status]
            await db.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status != DELIVERED)
                             .values(status=DELIVERED, delivered_at=now, last_status=status, last_error=None,
                                     claimed_by=None, lease_until=None).execution_options(**_NO_SYNC))
    if alive:
        await _hosts_alive(db, alive)
    return results


async def _record_failure(db, job: Job, outcome: Outcome, verdict: str, policy: rules.Policy, rng) -> str:
    now, status, error = outcome.now, outcome.status, outcome.error
    retry_at = rules.parse_retry_after(outcome.retry_after, now)
    if verdict == rules.FAILED:
        new_status, due = FAILED, None
    else:
        due = rules.next_attempt_at(job.attempts, now, policy, retry_after=retry_at, rng=rng)
        new_status = PENDING if due is not None else FAILED
        if due is None:
            error = f"gave up after {job.attempts} attempts; last: {error}"
    if rules.counts_against_host(status) and outcome.transient:
        host = await db.scalar(select(HostState).where(HostState.host == job.host).with_for_update())
        if host is not None:
            was_available = host.unavailable_since is None
            rules.record_host_failure(host, now, policy, retry_after=retry_at)
            if host.unavailable_since is not None:
                new_status, due = SKIPPED, None
                error = f"host unavailable (failing since {host.first_failure_at:%Y-%m-%d %H:%M}); last: {error}"
                if was_available:
                    await db.execute(update(Delivery).where(Delivery.host == job.host, Delivery.status == PENDING)
                                     .values(status=SKIPPED, last_error="host unavailable: not sent")
                                     .execution_options(**_NO_SYNC))
            await db.flush()
    values = {"status": new_status, "last_status": status, "last_error": (error or "")[:2000],
              "claimed_by": None, "lease_until": None}
    if due is not None:
        values["next_attempt_at"] = due
    # Only the claimant records a failure: if the lease ran out and someone else took the row,
    # their attempt is the one that counts.
    await db.execute(update(Delivery).where(Delivery.id == job.id, Delivery.claimed_by == job.claimed_by,
                                            Delivery.status == IN_FLIGHT)
                     .values(**values).execution_options(**_NO_SYNC))
    return new_status


def _unhealthy(now: datetime):
    return or_(HostState.consecutive_failures > 0, HostState.unavailable_since.isnot(None),
               HostState.circuit_open_until > now)


async def _hosts_alive(db, hosts: dict[str, datetime]) -> list[str]:
    """These hosts answered ({host: when}).  A host that was unwell is reset and what waited for
    it goes now rather than at the end of its backoff; a healthy one only gets last_success_at
    refreshed, at most once a minute (one UPDATE for all of them).  Returns the healed hosts."""
    now = max(hosts.values())
    healed = list(await db.scalars(select(HostState.host).where(HostState.host.in_(list(hosts)), or_(
        HostState.consecutive_failures > 0, HostState.unavailable_since.isnot(None),
        HostState.circuit_open_until.isnot(None)))))
    for host in healed:
        await db.execute(update(HostState).where(HostState.host == host)
                         .values(consecutive_failures=0, first_failure_at=None, circuit_open_until=None,
                                 unavailable_since=None, last_success_at=hosts[host])
                         .execution_options(**_NO_SYNC))
        await db.execute(update(Delivery).where(Delivery.host == host, Delivery.status == PENDING,
                                                Delivery.next_attempt_at > hosts[host])
                         .values(next_attempt_at=hosts[host]).execution_options(**_NO_SYNC))
    await db.execute(update(HostState).where(
        HostState.host.in_(list(hosts)),
        or_(HostState.last_success_at.is_(None), HostState.last_success_at < now - timedelta(minutes=1)))
        .values(last_success_at=now).execution_options(**_NO_SYNC))
    return healed


async def mark_host_alive(db, host_or_url: str, now: datetime | None = None) -> bool:
    """An activity arrived from this host (the inbox calls this): if we had given up on it or
    paused it, deliver to it again.  One indexed read when the host is healthy.  Returns True
    when the host was unhealthy."""
    host = host_of(host_or_url) if "://" in host_or_url else host_or_url.lower()
    now = now or utcnow()
    unhealthy = await db.scalar(select(HostState.id).where(HostState.host == host, _unhealthy(now)))
    if unhealthy is None:
        return False
    return bool(await _hosts_alive(db, {host: now}))


async def queue_summary(db, activity_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """{activity id: {status: count}} for the admin page."""
    if not activity_ids:
        return {}
    rows = await db.execute(select(Delivery.outbox_activity_id, Delivery.status, func.count())
                            .where(Delivery.outbox_activity_id.in_(list(activity_ids)))
                            .group_by(Delivery.outbox_activity_id, Delivery.status))
    summary: dict[int, dict[str, int]] = {}
    for activity_id, status, n in rows:
        summary.setdefault(activity_id, {})[status] = n
    return summary

