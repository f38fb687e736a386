"""Who the client is behind proxies: `X-Forwarded-For` believed only as far as trusted hops go.

Each proxy appends the address it received the request from. Read right to left, starting from
the socket's peer: while the address at hand is a trusted proxy, the entry it appended names
the next hop; the first address that is not a trusted proxy is the client. A client can write
anything into the header it sends, but the entries it wrote lie left of what the trusted
proxies appended, so they are never reached. Without trusted proxies (or from an untrusted
peer) the peer is the client and the header is ignored.
"""

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network


def trusted_networks(cidrs: list[str]) -> tuple[Network, ...]:
    return tuple(ip_network(cidr, strict=False) for cidr in cidrs)


class ClientAddresses:
    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self._trusted = trusted
        self._verdicts: dict[str, bool] = {}  # address -> trusted; peers are few, proxies fewer

    def of(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address, given the socket's peer and the request's X-Forwarded-For."""
        if forwarded_for is None or not self._is_trusted(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.split(",")):
            address = hop.strip()
            if not _is_address(address):
                break  # garbage from a client: the last trusted hop's peer stands
            client = address
            if not self._is_trusted(address):
                break
        return client

    def _is_trusted(self, address: str) -> bool:
        verdict = self._verdicts.get(address)
        if verdict is None:
            try:
                parsed = ip_address(address)
            except ValueError:
                return False
            verdict = any(parsed in network for network in self._trusted)
            if len(self._verdicts) < 10_000:
                self._verdicts[address] = verdict
        return verdict


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True
