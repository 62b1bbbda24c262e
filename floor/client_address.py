"""Who sent a request: the socket's peer, or `X-Forwarded-For` only when that peer is a proxy
named in HOOKLOG_TRUSTED_PROXIES. Anyone can write the header, so from any other peer it is
ignored. Behind trusted proxies the header is read from the right (each proxy appends the
address it saw), skipping trusted hops: the first address that is not a trusted proxy is the
client. Entries further left were written by the client itself and are never believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"  # no peer address (a Unix socket); one shared failure bucket


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class ClientAddress:
    """`resolve(request)` -> the client's address as text."""

    def __init__(self, trusted: Sequence[Network]) -> None:
        self._trusted = tuple(trusted)

    def _is_trusted(self, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(ip in network for network in self._trusted)

    def from_peer(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The pure rule: `peer` (the socket's) and the X-Forwarded-For header values in order."""
        ip = _ip(peer) if peer else None
        if ip is None:
            return peer or UNKNOWN
        if not self._trusted or not self._is_trusted(ip):
            return str(ip)
        hops = [part for value in forwarded_for for part in value.split(",")]
        for hop in reversed(hops):
            hop_ip = _ip(hop)
            if hop_ip is None:  # the proxy appended no address (misconfigured): keep the last known hop
                break
            ip = hop_ip
            if not self._is_trusted(ip):
                break
        return str(ip)

    def resolve(self, request: web.BaseRequest) -> str:
        if not self._trusted:  # the usual case, and the cheap one
            return request.remote or UNKNOWN
        return self.from_peer(request.remote, request.headers.getall("X-Forwarded-For", ()))
