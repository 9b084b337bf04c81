"""An address students can reach: this machine's LAN addresses, and the base URL of links."""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

ALL_INTERFACES = ("0.0.0.0", "::")  # a server bound to these listens on every address
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listens_only_here(bind_host: str) -> bool:
    """True when the server's host is a loopback address: no other machine can reach it."""
    return _is_loopback(bind_host)


def _usable(address: str | None) -> bool:
    return bool(address) and not _is_loopback(address) and address not in ALL_INTERFACES


def _outgoing_address() -> str | None:
    """The address of the interface a packet to the internet would leave by."""
    # connect() on a UDP socket only picks the outgoing interface: nothing is sent.
    # 192.0.2.1 is TEST-NET-1, a documentation address.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            return str(s.getsockname()[0])
    except OSError:
        return None


def _host_addresses() -> list[str]:
    """The IPv4 addresses this machine's name resolves to."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return [str(info[4][0]) for info in infos]


def lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses, found without sending any packet."""
    return sorted({a for a in (*_host_addresses(), _outgoing_address()) if _usable(a)})


def lan_address() -> str | None:
    """This machine's LAN IPv4 address, the outgoing interface's first (None if there is none)."""
    outgoing = _outgoing_address()
    if _usable(outgoing):
        return outgoing
    return next((a for a in _host_addresses() if _usable(a)), None)


def _netloc(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return host if port is None else f"{host}:{port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _own_name(host: str, settings: Any, lan: Callable[[], str | None]) -> bool:
    """True when `host`, a Host header's name, is one of this server's own.

    An IP address counts: a browser sent it because it connected to that address (a name can
    be an attacker's, pointed at this server by DNS rebinding). Names: loopback ones, the
    configured host, the machine's name, DESCENT_ALLOWED_ORIGINS' hosts, and any name a
    trusted proxy passes on (DESCENT_TRUST_PROXY_HEADERS).
    """
    host = host.lower()
    if not host or _is_loopback(host) or _is_ip(host) or settings.trust_proxy_headers:
        return True
    names = {settings.host.lower(), socket.gethostname().lower(), (lan() or "").lower()}
    names |= {(urlsplit(origin).hostname or "").lower() for origin in settings.allowed_origins}
    return host in names


def reachable_base_url(
    request: Any, settings: Any, find_lan: Callable[[], str | None] = lan_address
) -> str:
    """The request's base URL (no trailing "/"), with a loopback host swapped for the LAN address
    when the server listens on the network, so links and QR codes work on students' devices.

    A Host header that names none of this server's own names (`_own_name`) is not copied: the
    address the connection reached (the scope's `server`) stands in for it.
    """
    base = request.base_url
    host, port, path = base.hostname or "", base.port, base.path.rstrip("/")

    @functools.cache  # looked up only when needed, and once
    def lan() -> str | None:
        if listens_only_here(settings.host):
            return None
        return find_lan() if settings.host in ALL_INTERFACES else settings.host

    if not _own_name(host, settings, lan):
        server = request.scope.get("server") or (settings.host, settings.port)
        host, port = str(server[0]), server[1]
        if host in ALL_INTERFACES or port is None:  # a Unix socket, or no address known
            host, port = "127.0.0.1", settings.port
        if port == {"http": 80, "https": 443}.get(base.scheme):
            port = None
    if _is_loopback(host) and (reachable := lan()):
        host = reachable
    return f"{base.scheme}://{_netloc(host, port)}{path}"
