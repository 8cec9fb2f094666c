"""An in-process token bucket per client address, for the public intake routes.

Victims cannot hold API keys, so the routes they use are open; this keeps one
address from flooding them (or guessing case tokens, hopeless as that is at 256
bits). Buckets live in this process only; behind a proxy, run uvicorn with
``--forwarded-allow-ips`` so the client address is the real one.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict

#: Addresses tracked at once; the least recently seen are forgotten first (a
#: forgotten address starts again with a full bucket).
MAX_CLIENTS = 100_000


def bucket_of(address: str, ipv6_prefix: int) -> str:
    """The bucket an address counts against: an IPv4 address itself, an IPv6 address's
    network of ``ipv6_prefix`` bits (a host is usually given a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)


class RateLimiter:
    def __init__(self, per_minute: int, burst: int, max_clients: int = MAX_CLIENTS) -> None:
        self.rate = max(per_minute, 0) / 60.0
        self.burst = max(burst, 1)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take one token; returns 0 if allowed, else seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = math.inf if self.rate == 0 else (1 - tokens) / self.rate
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait
