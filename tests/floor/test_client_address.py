"""The client address: the socket's peer, X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import pytest

from floor.settings import Settings, proxy_networks
from floor.client_address import UNKNOWN, ClientAddress

pytestmark = pytest.mark.unit

PROXIES = ClientAddress(proxy_networks("127.0.0.1, 10.0.0.0/8, fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.2", ["203.0.113.7"], "198.51.100.2"),  # an untrusted peer: the header is ignored
        ("127.0.0.1", [], "127.0.0.1"),  # a trusted peer without the header is the client
        ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", ["1.1.1.1, 203.0.113.7"], "203.0.113.7"),  # the client's own entries are not believed
        ("127.0.0.1", ["1.1.1.1, 203.0.113.7, 10.1.2.3"], "203.0.113.7"),  # trusted hops are skipped
        ("127.0.0.1", ["1.1.1.1", "203.0.113.7"], "203.0.113.7"),  # several header lines, in order
        ("127.0.0.1", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),  # all trusted: the leftmost
        ("127.0.0.1", ["203.0.113.7, nonsense"], "127.0.0.1"),  # the proxy added no address: the proxy
        ("127.0.0.1", ["[2001:db8::5]"], "2001:db8::5"),
        ("::ffff:127.0.0.1", ["203.0.113.7"], "203.0.113.7"),  # a v4-mapped peer is the v4 address
        ("fd00::1", [" 203.0.113.9 "], "203.0.113.9"),
        (None, ["203.0.113.7"], UNKNOWN),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], client: str) -> None:
    assert PROXIES.from_peer(peer, forwarded) == client


def test_without_trusted_proxies_the_header_never_counts() -> None:
    plain = ClientAddress(Settings().trusted_proxy_networks)
    assert plain.from_peer("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"
