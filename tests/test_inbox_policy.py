"""Instance policy rules: which hosts a rule covers, block beats allow, allowlist mode."""
from __future__ import annotations

import pytest

from node.activitypub.policy import InstancePolicies, _candidates


def test_a_rule_covers_the_host_its_port_and_its_subdomains():
    assert _candidates("Social.Example.org:8443") == [
        "social.example.org:8443", "social.example.org", "example.org"]
    assert _candidates("127.0.0.1:8080") == ["127.0.0.1:8080", "127.0.0.1"]


def policies(mode: str, rules: dict[str, str]) -> InstancePolicies:
    found = InstancePolicies(engine=None, mode=mode, clock=lambda: 0.0)
    found._rules = rules  # as if just read from instance_policies
    return found


@pytest.mark.parametrize("mode, rules, host, refused", [
    ("open", {}, "a.example", False),
    ("open", {"example.org": "block"}, "social.example.org", True),
    ("open", {"example.org": "block"}, "example.org.evil.net", False),
    ("open", {"127.0.0.1:9000": "block"}, "127.0.0.1:9001", False),
    ("allowlist", {}, "partner.example", True),
    ("allowlist", {"partner.example": "allow"}, "node.partner.example", False),
    ("allowlist", {"partner.example": "allow", "bad.partner.example": "block"}, "bad.partner.example", True),
])
async def test_refusals(mode, rules, host, refused):
    reason = await policies(mode, rules).refusal(host)
    assert bool(reason) is refused, reason


def test_an_unknown_mode_is_a_configuration_error():
    with pytest.raises(ValueError, match="allowlist"):
        InstancePolicies(engine=None, mode="closed")
