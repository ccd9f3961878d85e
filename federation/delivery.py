"""Delivery rules shared by any ActivityPub sender: what an answer means, when to try again, and
when to stop talking to a host for a while.  No I/O and no database here: the node's worker
(node.activitypub.worker) asks these functions and stores what they decide.

The rules follow Mastodon, so that peers see the behaviour they already cope with:

* 2xx: delivered.  A 4xx other than 401/408/429 is permanent (the receiver understood us and
  refused: gone, forbidden, malformed); retrying only adds load.  401 is retried because the
  usual cause is a receiver that could not fetch our new key yet; 408/429/5xx, 3xx and network
  errors are retried.
* retries: ``delay = attempts⁴ + 15 s + jitter``, at most 16 attempts (two days and a bit).
  ``Retry-After`` (seconds or an HTTP date) is honoured, capped so that a peer cannot park our
  queue for weeks.
* circuit breaker per host: after ``breaker_threshold`` consecutive failures the host gets no
  traffic for a cool-down that doubles up to ``breaker_max_cooldown``; then one probe
  (half-open): success closes the circuit, failure re-opens it.
* a host that has been failing for ``unavailable_after`` (7 days, as Mastodon) is unavailable:
  its deliveries are skipped, not queued, except one probe per ``unavailable_probe_interval``;
  any success (or an activity received from it) makes it available again.
"""

from __future__ import annotations

import email.utils
import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Callable, Protocol

__all__ = ["DELIVERED", "FAILED", "RETRY", "HostHealth", "Policy", "classify", "counts_against_host",
           "host_phase", "next_attempt_at", "ordering_key", "parse_retry_after", "record_host_failure",
           "record_host_success", "retry_delay", "subject_uri"]

DELIVERED, RETRY, FAILED = "delivered", "retry", "failed"
# Activity types whose `object` may itself be an activity (Announce of a Create, Undo of a
# Follow): ordering follows the innermost object, which is what Create/Update/Delete are about.
_WRAPPERS = frozenset({"Announce", "Create", "Update", "Delete", "Undo", "Add", "Remove", "Accept",
                       "Reject", "Like", "Dislike", "Flag", "Follow", "Block"})


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 16
    breaker_threshold: int = 10
    breaker_cooldown: timedelta = timedelta(minutes=1)
    breaker_max_cooldown: timedelta = timedelta(hours=1)
    unavailable_after: timedelta = timedelta(days=7)
    unavailable_probe_interval: timedelta = timedelta(hours=1)
    max_retry_after: timedelta = timedelta(days=1)
    # How long a half-open probe may take before another one may be tried (a worker that died
    # mid-probe must not keep the circuit shut).
    probe_timeout: timedelta = timedelta(minutes=2)


class Phase(str, Enum):
    CLOSED = "closed"          # send normally
    OPEN = "open"              # send nothing until circuit_open_until
    HALF_OPEN = "half_open"    # one probe may go
    UNAVAILABLE = "unavailable"            # skip deliveries
    UNAVAILABLE_PROBE = "unavailable_probe"  # skip, but one delivery may go as a probe


class HostLike(Protocol):
    consecutive_failures: int
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    circuit_open_until: datetime | None
    unavailable_since: datetime | None
    last_success_at: datetime | None


@dataclass
class HostHealth:
    """A stand-alone HostLike (the node's HostState row has the same attributes)."""

    consecutive_failures: int = 0
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    circuit_open_until: datetime | None = None
    unavailable_since: datetime | None = None
    last_success_at: datetime | None = None


def classify(status: int | None, *, transient_error: bool = True) -> str:
    """DELIVERED, RETRY or FAILED for an HTTP status (None: no answer; ``transient_error`` says
    whether that error is worth retrying: a refused address or an invalid URL is not)."""
    if status is None:
        return RETRY if transient_error else FAILED
    if 200 <= status < 300:
        return DELIVERED
    if 400 <= status < 500 and status not in (401, 408, 429):
        return FAILED
    return RETRY


def counts_against_host(status: int | None) -> bool:
    """Whether an answer says the host is unwell (feeds the circuit breaker).  Any other answer,
    a 404 or a 401 included, proves the host is up and resets it."""
    return status is None or status >= 500 or status in (408, 429)


def retry_delay(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Wait after the ``attempts``-th failed attempt (1-based): attempts⁴ + 15 s, plus up to
    10 × (attempts + 1) s of jitter so that a host coming back is not hit by a synchronised wave."""
    return timedelta(seconds=attempts ** 4 + 15 + rng() * 10 * (attempts + 1))


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """When a ``Retry-After`` header (delta-seconds or HTTP date) allows the next try."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(when, now)


def next_attempt_at(attempts: int, now: datetime, policy: Policy, *, retry_after: datetime | None = None,
                    rng: Callable[[], float] = random.random) -> datetime | None:
    """When to try again after ``attempts`` failed attempts, or None to give up."""
    if attempts >= policy.max_attempts:
        return None
    due = now + retry_delay(attempts, rng)
    if retry_after is not None:
        due = max(due, min(retry_after, now + policy.max_retry_after))
    return due


def host_phase(host: HostLike | None, now: datetime, policy: Policy) -> Phase:
    if host is None:
        return Phase.CLOSED
    shut = host.circuit_open_until is not None and host.circuit_open_until > now
    if host.unavailable_since is not None:
        return Phase.UNAVAILABLE if shut else Phase.UNAVAILABLE_PROBE
    if shut:
        return Phase.OPEN
    if host.consecutive_failures >= policy.breaker_threshold:
        return Phase.HALF_OPEN
    return Phase.CLOSED


def record_host_failure(host: HostLike, now: datetime, policy: Policy, *,
                        retry_after: datetime | None = None) -> Phase:
    """Update ``host`` after a failure that counts against it; returns the new phase."""
    host.consecutive_failures = (host.consecutive_failures or 0) + 1
    host.first_failure_at = host.first_failure_at or now
    host.last_failure_at = now
    until = None
    if host.unavailable_since is None and now - host.first_failure_at >= policy.unavailable_after:
        host.unavailable_since = now
    if host.unavailable_since is not None:
        until = now + policy.unavailable_probe_interval
    elif host.consecutive_failures >= policy.breaker_threshold:
        doublings = min(host.consecutive_failures - policy.breaker_threshold, 20)
        until = now + min(policy.breaker_cooldown * (2 ** doublings), policy.breaker_max_cooldown)
    if retry_after is not None:  # the host asked for quiet: nothing goes to it until then
        capped = min(retry_after, now + policy.max_retry_after)
        until = capped if until is None else max(until, capped)
    if until is not None:
        host.circuit_open_until = until
    return host_phase(host, now, policy)


def record_host_success(host: HostLike, now: datetime) -> bool:
    """Reset ``host`` after any answer proving it is up; True if it was unhealthy before."""
    was_unhealthy = bool(host.consecutive_failures or host.unavailable_since or host.circuit_open_until)
    host.consecutive_failures = 0
    host.first_failure_at = None
    host.circuit_open_until = None
    host.unavailable_since = None
    host.last_success_at = now
    return was_unhealthy


def subject_uri(activity: dict) -> str:
    """What ``activity`` is about, for per-host ordering: the innermost object id (an Announce of
    a Create of a Note is about the Note; an Undo of a Follow about the followed actor), else
    the activity's own id."""
    subject: object = activity
    for _ in range(8):  # bounded: a hostile nesting cannot loop us
        if not isinstance(subject, dict) or subject.get("type") not in _WRAPPERS:
            break
        inner = subject.get("object")
        if isinstance(inner, list):
            inner = inner[0] if len(inner) == 1 else None
        if inner is None:
            break
        subject = inner
    if isinstance(subject, dict):
        subject = subject.get("id")
    return subject if isinstance(subject, str) and subject else str(activity.get("id"))


def ordering_key(uri: str) -> str:
    """A fixed-size key for an object URI (hashed, so the index stays small however long URIs are)."""
    return hashlib.sha256(uri.encode()).hexdigest()[:32]
