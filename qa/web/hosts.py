"""Which Host names the server answers to, and the addresses to print for the one it was started on."""

from __future__ import annotations

import ipaddress
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


def host_name(header: str) -> str:
    """The name part of a Host header: "[::1]:7860" -> "::1", "Example.org:80" -> "example.org"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


def reachable_urls(bind_host: str, port: int) -> list[str]:
    """Addresses to print for a server bound to ``bind_host``: never http://0.0.0.0/."""
    host = bind_host.strip().strip("[]")
    if host in ALL_INTERFACES:
        hosts = ["127.0.0.1", *interface_addresses(ipv6=host == "::")]
    else:
        hosts = [host]
    return [f"http://{f'[{h}]' if ':' in h else h}:{port}/" for h in hosts]
