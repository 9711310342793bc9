"""Who may watch: loopback addresses, and the token (compared in constant time) or the cookie it buys."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in a Host header ("127.0.0.1:8765", "[::1]:8765"), without its port."""
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:
        return ""


def same_secret(presented: str | None, expected: str) -> bool:
    """`presented` is `expected`, compared in constant time (no timing tells how much was right)."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def cookie_for(token: str) -> str:
    """The cookie a browser keeps once it showed the token: derived from it, not the token itself."""
    return hmac.new(token.encode("utf-8"), b"oncall serve: observer cookie", hashlib.sha256).hexdigest()
