"""Which network addresses federation may connect to, enforced where aiohttp connects.

A peer's URL is attacker-controlled, so the check must cover the address actually connected to:
:class:`GuardedResolver` refuses a name when any of its addresses is refused (aiohttp falls back
to the next address when one fails), and :func:`guarded_socket_factory` re-checks the address of
every socket aiohttp opens, which also covers IP literals (they skip the resolver).  There is
deliberately no look-up before the request: a DNS answer that changed between such a check and
the connection ("DNS rebinding") would go unnoticed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

__all__ = ["AddressPolicy", "BlockedAddressError", "GuardedResolver", "guarded_socket_factory",
           "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(OSError):
    """Raised inside aiohttp's connection machinery; an OSError so aiohttp wraps it like any
    connection failure, and we find it again in the exception chain."""

    def __init__(self, host: str, address: str, reason: str):
        what = reason if host == address else f"{host} resolves to {address} ({reason})"
        super().__init__(errno.EACCES, what)
        self.host, self.address, self.reason = host, address, what


@dataclass(frozen=True)
class AddressPolicy:
    """Which peer addresses may be connected to."""

    allow_private: bool = False
    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def make(cls, allow_private: bool = False, allow_networks: Iterable[str | IPNetwork] = ()) -> AddressPolicy:
        return cls(allow_private, tuple(ipaddress.ip_network(n) for n in allow_networks))

    def refusal(self, ip: IPAddress) -> str | None:
        """Why connecting to ``ip`` is refused, or None when it is allowed."""
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # ::ffff:127.0.0.1, 2002:7f00:1::, 64:ff9b::7f00:1 all reach 127.0.0.1.
            return self.refusal(embedded)
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            return None
        if ip.is_unspecified:  # 0.0.0.0 / :: connect to the local host on Linux
            return "unspecified address"
        if ip.is_multicast:
            return "multicast address"
        if self.allow_private:
            return None
        for flag, name in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                           ("is_reserved", "reserved"), ("is_private", "private")):
            if getattr(ip, flag):
                return f"{name} address"
        return None if ip.is_global else "non-public address"  # e.g. 100.64.0.0/10


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and refuses a host when ANY of its addresses is refused: aiohttp falls
    back to the next address when one fails, so one bad answer is enough to reach it."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None):
        self._policy, self._inner, self._own_inner = policy, inner, inner is None

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self._inner is None:  # created here because it needs the running loop
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            ip = parse_ip(result["host"])
            reason = "unparsable address" if ip is None else self._policy.refusal(ip)
            if reason:
                raise BlockedAddressError(host, result["host"], reason)
        return results

    async def close(self) -> None:
        """Closes the inner resolver too (a given one is owned by the guard); a default one is
        recreated on next use, so a closed fetcher can be used again."""
        if self._inner is not None:
            await self._inner.close()
            if self._own_inner:
                self._inner = None


def guarded_socket_factory(policy: AddressPolicy):
    """Last line of defence: checks the very address a socket is created for."""

    def factory(addr_info) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        ip = parse_ip(str(sockaddr[0]))
        reason = "unparsable address" if ip is None else policy.refusal(ip)
        if reason:
            raise BlockedAddressError(str(sockaddr[0]), str(sockaddr[0]), reason)
        return socket.socket(family=family, type=type_, proto=proto)

    return factory
