"""Network facts shared by the local servers and the downloaders (no Qt, no I/O)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """True for names that can only mean this machine: localhost, 127.0.0.0/8, ::1 (brackets allowed)."""
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_origin(origins: list[str]) -> bool:
    """Who may drive a local server from a browser: no Origin at all (SDK clients send none)
    or exactly one page served from this machine. A page elsewhere is refused."""
    if not origins:
        return True
    if len(origins) != 1:
        return False
    parts = urlsplit(origins[0].strip())
    try:
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and is_loopback(host)
