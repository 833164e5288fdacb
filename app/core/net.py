"""Network facts shared by the local servers and the downloaders (no Qt, no I/O)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str | None) -> bool:
    """True for names that can only mean this machine: localhost, 127.0.0.0/8, ::1 (brackets allowed)."""
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
