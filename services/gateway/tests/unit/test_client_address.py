"""X-Forwarded-For believed only as far as trusted proxies go (no stack needed)."""

import pytest

from cloudmart_gateway.client_address import ClientAddresses, trusted_networks

INGRESS = ClientAddresses(trusted_networks(["10.0.0.0/16", "127.0.0.1/32"]))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # Straight from the client: the header is the client's own words, ignored.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("203.0.113.7", None, "203.0.113.7"),
        # Through the Ingress (a trusted hop): the address it received the request from.
        ("10.0.3.4", "203.0.113.7", "203.0.113.7"),
        # A client forging entries before the Ingress appends the real one: the real one wins.
        ("10.0.3.4", "1.2.3.4, 10.0.9.9, 203.0.113.7", "203.0.113.7"),
        # Two trusted hops (a load balancer, then the Ingress): the client before both.
        ("10.0.3.4", "203.0.113.7, 10.0.1.1", "203.0.113.7"),
        # Garbage where an address should be: the last trusted hop's peer stands.
        ("10.0.3.4", "not-an-address", "10.0.3.4"),
        ("10.0.3.4", "203.0.113.7, ", "10.0.3.4"),
        # Every hop trusted: the leftmost.
        ("127.0.0.1", "10.0.0.5", "10.0.0.5"),
        ("2001:db8::1", "203.0.113.7", "2001:db8::1"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str, forwarded_for: str | None, client: str
) -> None:
    assert INGRESS.of(peer, forwarded_for) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert ClientAddresses(()).of("10.0.3.4", "203.0.113.7") == "10.0.3.4"
