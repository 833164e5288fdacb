"""Who a connection belongs to, and how many sessions each client may hold.

A client is the key it presents (only a salted hash is kept, never the key) or, keyless, its
address; `X-Forwarded-For` names the address only when the direct peer is a trusted proxy
(an nginx in front of Guard), since anyone else can write that header.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections import Counter

PER_CLIENT = 16        # sessions one client may hold at once
RETRY_AFTER_S = 10


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def parse_proxies(items) -> frozenset:
    """Addresses or networks (10.0.0.0/8); ValueError names a bad one."""
    out = set()
    for item in items or ():
        try:
            out.add(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {item!r}") from None
    return frozenset(out)


class Clients:
    """Session counts per client, with slots kept free for clients that hold none."""

    def __init__(self, max_sessions: int, per_client: int = PER_CLIENT, trusted_proxies=()) -> None:
        self.max_sessions = max_sessions
        self.per_client = max(1, min(per_client, max_sessions))
        # a client that already holds sessions cannot take the last few: a newcomer always gets one
        self.reserve = 0 if self.per_client >= max_sessions else max(1, max_sessions // 10)
        self.trusted = parse_proxies(trusted_proxies)
        self.counts: Counter[str] = Counter()
        self._salt = secrets.token_bytes(16)    # hashes mean nothing outside this process

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _trusted(self, addr) -> bool:
        return addr is not None and any(addr in net for net in self.trusted)

    def address(self, peer: str, forwarded: list[str]) -> str:
        """The client's address: the peer, or from a trusted proxy the last untrusted hop it names."""
        addr = _ip(peer)
        if not self._trusted(addr) or not forwarded:
            return peer
        hops = [h for v in forwarded for h in v.split(",")]
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                return peer           # a garbled header: the proxy's own address is all that is known
            if not self._trusted(ip):
                return str(ip)
        return peer

    def identify(self, key: str | None, peer: str, forwarded: list[str]) -> str:
        if key:
            digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), key=self._salt, digest_size=12)
            return "key:" + digest.hexdigest()
        return "addr:" + self.address(peer, forwarded)

    def admit(self, client: str) -> int | None:
        """None when admitted (counted), else the HTTP status of the refusal: 429 or 503."""
        held = self.counts[client]
        if self.total >= self.max_sessions:
            return 503
        if held >= self.per_client:
            return 429
        if held and self.total >= self.max_sessions - self.reserve:
            return 429
        self.counts[client] += 1
        return None

    def release(self, client: str) -> None:
        self.counts[client] -= 1
        if self.counts[client] <= 0:
            del self.counts[client]
