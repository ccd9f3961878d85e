"""federation.delivery: the pure rules (answers, retry schedule, circuit breaker, ordering)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.delivery import (DELIVERED, FAILED, RETRY, HostHealth, Phase, Policy, classify, counts_against_host,
                                 host_phase, next_attempt_at, ordering_key, parse_retry_after, record_host_failure,
                                 record_host_success, retry_delay, subject_uri)

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status, outcome", [
    (200, DELIVERED), (202, DELIVERED), (204, DELIVERED),
    (400, FAILED), (403, FAILED), (404, FAILED), (410, FAILED), (422, FAILED),
    (401, RETRY), (408, RETRY), (429, RETRY), (500, RETRY), (502, RETRY), (503, RETRY), (301, RETRY),
    (None, RETRY),
])
def test_classify(status, outcome):
    assert classify(status) == outcome


def test_an_untransient_error_is_final():
    assert classify(None, transient_error=False) == FAILED


def test_what_counts_against_a_host():
    assert counts_against_host(None) and counts_against_host(503) and counts_against_host(429)
    assert not counts_against_host(404) and not counts_against_host(401) and not counts_against_host(202)


def test_retry_schedule_is_mastodons():
    assert [retry_delay(n, lambda: 0.0).total_seconds() for n in (1, 2, 3, 10)] == [16, 31, 96, 10015]
    assert retry_delay(2, lambda: 1.0).total_seconds() == 31 + 30  # jitter up to 10 × (n + 1) s
    total = sum((retry_delay(n, lambda: 0.5) for n in range(1, 16)), timedelta())
    assert timedelta(days=2) < total < timedelta(days=3)  # 16 attempts: two days and a bit


def test_next_attempt_gives_up_at_the_limit():
    policy = Policy(max_attempts=16)
    assert next_attempt_at(15, NOW, policy, rng=lambda: 0.0) == NOW + timedelta(seconds=15 ** 4 + 15)
    assert next_attempt_at(16, NOW, policy) is None


def test_retry_after_seconds_and_date():
    assert parse_retry_after("120", NOW) == NOW + timedelta(minutes=2)
    assert parse_retry_after("Mon, 01 Mar 2027 13:00:00 GMT", NOW) == NOW + timedelta(hours=1)
    assert parse_retry_after("Mon, 01 Mar 2027 11:00:00 GMT", NOW) == NOW  # in the past: now
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_retry_after_is_honoured_but_capped():
    policy = Policy(max_retry_after=timedelta(days=1))
    assert next_attempt_at(1, NOW, policy, retry_after=NOW + timedelta(hours=2), rng=lambda: 0) == NOW + timedelta(hours=2)
    assert next_attempt_at(1, NOW, policy, retry_after=NOW + timedelta(days=30), rng=lambda: 0) == NOW + timedelta(days=1)
    # A Retry-After shorter than the backoff does not make us hurry.
    assert next_attempt_at(3, NOW, policy, retry_after=NOW, rng=lambda: 0) == NOW + timedelta(seconds=96)


def test_circuit_breaker_opens_doubles_and_closes():
    policy = Policy(breaker_threshold=3, breaker_cooldown=timedelta(minutes=1), breaker_max_cooldown=timedelta(minutes=3))
    host = HostHealth()
    assert record_host_failure(host, NOW, policy) is Phase.CLOSED
    assert record_host_failure(host, NOW, policy) is Phase.CLOSED
    assert record_host_failure(host, NOW, policy) is Phase.OPEN
    assert host.circuit_open_until == NOW + timedelta(minutes=1)
    assert host_phase(host, NOW + timedelta(minutes=1), policy) is Phase.HALF_OPEN
    record_host_failure(host, NOW, policy)
    assert host.circuit_open_until == NOW + timedelta(minutes=2)
    record_host_failure(host, NOW, policy)
    assert host.circuit_open_until == NOW + timedelta(minutes=3)  # capped
    assert record_host_success(host, NOW) is True
    assert host_phase(host, NOW, policy) is Phase.CLOSED and host.last_success_at == NOW
    assert record_host_success(host, NOW) is False


def test_a_week_of_failures_makes_a_host_unavailable_with_hourly_probes():
    policy = Policy(unavailable_after=timedelta(days=7), unavailable_probe_interval=timedelta(hours=1))
    host = HostHealth()
    record_host_failure(host, NOW, policy)
    later = NOW + timedelta(days=7)
    assert record_host_failure(host, later, policy) is Phase.UNAVAILABLE
    assert host.unavailable_since == later
    assert host_phase(host, later + timedelta(hours=1), policy) is Phase.UNAVAILABLE_PROBE
    record_host_success(host, later)
    assert host.unavailable_since is None and host_phase(host, later, policy) is Phase.CLOSED


def test_a_retry_after_pauses_the_host_without_tripping_the_breaker():
    policy = Policy(breaker_threshold=10)
    host = HostHealth()
    record_host_failure(host, NOW, policy, retry_after=NOW + timedelta(minutes=5))
    assert host_phase(host, NOW, policy) is Phase.OPEN
    assert host_phase(host, NOW + timedelta(minutes=5), policy) is Phase.CLOSED


def test_ordering_follows_the_innermost_object():
    note = {"id": "https://a.example/notes/1", "type": "Note"}
    create = {"id": "https://a.example/act/1", "type": "Create", "object": note}
    announce = {"id": "https://a.example/act/2", "type": "Announce", "object": create}
    delete = {"id": "https://a.example/act/3", "type": "Delete", "object": "https://a.example/notes/1"}
    undo_follow = {"id": "https://a.example/act/4", "type": "Undo",
                   "object": {"id": "https://a.example/act/5", "type": "Follow", "object": "https://b.example/g"}}
    assert subject_uri(create) == subject_uri(announce) == subject_uri(delete) == note["id"]
    assert subject_uri(undo_follow) == "https://b.example/g"
    assert subject_uri({"id": "https://a.example/act/6", "type": "Question"}) == "https://a.example/act/6"
    assert len(ordering_key("x" * 5000)) == 32
