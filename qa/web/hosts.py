"""Which Host names the server answers to, and the addresses to print for the one it was started on."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ALL_INTERFACES = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: only this machine can connect."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def interface_addresses(ipv6: bool = False) -> list[str]:
    """This machine's own addresses (loopback excluded), read from its interfaces: no DNS lookup."""
    import psutil

    families = (socket.AF_INET, socket.AF_INET6) if ipv6 else (socket.AF_INET,)
    out: list[str] = []
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family in families:
                address = a.address.split("%")[0]  # fe80::1%eth0
                if not is_loopback(address) and address not in out:
                    out.append(address)
    return out


def allowed_host_names(bind_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names (lower case, without port or brackets) a request may carry.

    Always the loopback names; the address the server was started on; every name in ``extra``
    (``qa serve --allowed-host``). Bound to all interfaces (0.0.0.0 or ::), also this machine's
    interface addresses and its host name, which is what people on the network type.
    """
    names = {*LOOPBACK_NAMES, *(n.strip().strip("[]").lower() for n in extra if n.strip())}
    host = bind_host.strip().strip("[]").lower()
    if host in ALL_INTERFACES:
        names.update(interface_addresses(ipv6=host == "::"))
        names.add(socket.gethostname().lower())
    elif host:
        names.add(host)
    return frozenset(names)


# RFC 9110's Host: uri-host [":" port], where uri-host is an IP literal in brackets, an IPv4 address or
# a registered name. Nothing else is accepted: "[::1]evil.example", "127.0.0.1:80@evil.example" and
# "a b" are not hosts, so no two parsers (ours, Starlette's, a proxy's) can read them differently.
_AUTHORITY = re.compile(r"(?:\[(?P<literal>[0-9a-f:.]{2,45})\]|(?P<name>[a-z0-9_](?:[a-z0-9_.\-]{0,252}[a-z0-9_])?\.?))"
                        r"(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?<![a-z0-9+.\-])(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<authority>[^/?#]*)")
DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_host(header: str) -> tuple[str, int | None] | None:
    """A Host header's (name, port), lower case and without brackets: "[::1]:7860" -> ("::1", 7860),
    "Example.org" -> ("example.org", None); None when it is not exactly a host and an optional port."""
    match = _AUTHORITY.fullmatch(header.strip(" \t").lower())
    if match is None:
        return None
    port = int(match.group("port")) if match.group("port") else None
    if port is not None and not 0 < port < 65536:
        return None
    literal = match.group("literal")
    if literal is not None:
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            return None
        return literal, port
    return match.group("name").rstrip("."), port


def same_origin(origin: str, host: tuple[str, int | None], scheme: str) -> bool:
    """True when an Origin header names this server exactly: the scheme it is served on (``scheme``,
    "https" behind a TLS proxy that says so), and the name and port of the request's Host."""
    match = _ORIGIN.fullmatch(origin.strip(" \t").lower())
    if match is None or match.group("scheme") != scheme:
        return False
    parsed = parse_host(match.group("authority"))
    if parsed is None:
        return False
    default = DEFAULT_PORTS.get(scheme)
    return parsed[0] == host[0] and (parsed[1] or default) == (host[1] or default)


def reachable_urls(bind_host: str, port: int) -> list[str]:
    """Addresses to print for a server bound to ``bind_host``: never http://0.0.0.0/."""
    host = bind_host.strip().strip("[]")
    if host in ALL_INTERFACES:
        hosts = ["127.0.0.1", *interface_addresses(ipv6=host == "::")]
    else:
        hosts = [host]
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/" for h in hosts]
