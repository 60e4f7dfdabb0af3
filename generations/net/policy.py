"""The address policy of outbound HTTP: which URLs, hosts, ports and addresses may be reached.

Everything is decided before a connection is made; :func:`check` returns the addresses a
connection may go to (see :mod:`generations.net.transport`), so nothing resolves a name twice.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from urllib3 import exceptions as urllib3_errors
from urllib3.util import parse_url

from .errors import DownloadFailed, DownloadRefused

__all__ = [
    "Resolver",
    "Target",
    "address_is_public",
    "check",
    "check_url",
    "host_allowed",
    "normalize_entries",
    "parse_allowed_hosts",
    "resolve_host",
]

Resolver = Callable[[str, int], Sequence[str]]

# `is_global` alone lets these through although they carry or reach an IPv4 address
# of the operator's choosing (or are plainly not meant to be dialled).
_ALSO_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "100.64.0.0/10",  # carrier-grade NAT: often reaches internal workloads
        "192.88.99.0/24",  # 6to4 relay anycast
        "::/96",  # IPv4-compatible (deprecated): ::7f00:1 is 127.0.0.1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_allowed_hosts(value: str) -> list[str]:
    """Parse a comma-separated allow-list (an environment value) into entries.

    Whitespace and case are ignored, empty items skipped. ``*.example.com`` is read
    as ``.example.com``. An item may carry a port (``127.0.0.1:8765``, ``[::1]:8765``,
    ``files.example.com:8443``); without one it allows only the URL scheme's default
    port (80 for http, 443 for https). Raises ValueError for an item that is not a host
    name or IP address with an optional port (for example one with a scheme), so that a
    typo in the configuration fails loudly instead of silently blocking or allowing.
    """
    return [_normalize_entry(item) for item in value.split(",") if item.strip()]


def host_allowed(host: str, allowed_hosts: Sequence[str], *, port: int | None = None, default_port: int = 443) -> bool:
    """True if ``host`` on ``port`` (None: ``default_port``) matches an entry of ``allowed_hosts``.

    An entry matches exactly (host name or IP address), or, when it starts with a
    dot (``.example.com``), matches that domain and all its subdomains. IP addresses
    only ever match exactly. An entry with a port matches that port only; one without
    matches ``default_port`` only (the URL scheme's: a bare ``127.0.0.1`` must not open
    every local service). Matching alone is not permission to connect: hosts matched
    only by a dotted entry must also resolve to public addresses (see :func:`check`).
    """
    return _match(host, port or default_port, default_port, normalize_entries(allowed_hosts)) is not None


def address_is_public(address: str) -> bool:
    """True if ``address`` is a globally routable unicast IP address.

    IPv4-mapped and NAT64 (64:ff9b::/96) addresses are judged by the IPv4 address
    they carry; private, loopback, link-local (cloud metadata 169.254.169.254),
    carrier-grade NAT, unspecified, reserved and multicast addresses are not public.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in _ALSO_REFUSED):
        return False
    return ip.is_global and not ip.is_multicast


def resolve_host(host: str, port: int) -> list[str]:
    """Resolve ``host`` to its IP addresses (system resolver), in preference order."""
    addresses: list[str] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6) and str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def normalize_entries(allowed_hosts: Sequence[str]) -> list[str]:
    """An allow-list as :func:`check` reads it; a malformed entry raises ValueError (:func:`parse_allowed_hosts`)."""
    return [_normalize_entry(entry) for entry in allowed_hosts]


def _normalize_entry(entry: str) -> str:
    """``name``, ``.domain`` or an IP address, with ``:port`` when the entry has one (IPv6 in brackets then)."""
    value = entry.strip().lower()
    if value.startswith("*."):
        value = value[1:]
    host, port = _split_port(value, entry)
    ip = _as_ip(host.strip("[]"))
    if ip is not None:
        name = f"[{ip}]" if ip.version == 6 and port is not None else str(ip)
        return name if port is None else f"{name}:{port}"
    wildcard = host.startswith(".")
    name = host.lstrip(".").rstrip(".")
    if not name or any(char in name for char in "/:@*?#[] \t"):
        raise ValueError(f"{entry.strip()!r} is not a host name, a .domain or an IP address (with an optional :port)")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{entry.strip()!r} is not a valid host name") from None
    name = f".{name}" if wildcard else name
    return name if port is None else f"{name}:{port}"


def _split_port(value: str, entry: str) -> tuple[str, int | None]:
    """(host, port) of an entry; a bare IPv6 address has no port, a bracketed one may."""
    if value.startswith("["):
        host, _, rest = value.partition("]")
        host += "]"
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError(f"{entry.strip()!r} is not a host name, a .domain or an IP address")
        return host, _port(rest[1:], entry)
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, _port(port, entry)
    return value, None


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry.strip()!r} has no valid port")
    return int(text)


def _entry_parts(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, port = entry[1:].partition("]:")
        return host, int(port)
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port)
    return entry, None


def _as_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _match(host: str, port: int, default_port: int, entries: Sequence[str]) -> Literal["exact", "domain"] | None:
    name = host.strip("[]").lower().rstrip(".")
    ip = _as_ip(name)
    if ip is not None:
        name = str(ip)
    candidates = []
    for entry in entries:
        entry_host, entry_port = _entry_parts(entry)
        if port == (default_port if entry_port is None else entry_port):
            candidates.append(entry_host)
    if ip is not None:
        # A dotted entry must never match an address: ".0.0.1" is not a domain.
        return "exact" if name in candidates else None
    if name in candidates:
        return "exact"
    for entry in candidates:
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return "domain"
    return None


@dataclass(frozen=True)
class Target:
    """Where a checked URL may be reached."""

    url: str
    scheme: str
    host: str  # as sent in Host and SNI; IPv6 without brackets
    port: int
    request_uri: str
    addresses: tuple[str, ...]  # checked; the only ones we may connect to


def check(url: str, entries: Sequence[str], resolve: Resolver | None = None, *, public_hosts: bool = False) -> Target:
    """Apply the policy to ``url`` before any connection; return where to connect.

    ``entries`` are normalized (:func:`normalize_entries`); ``resolve(host, port)`` defaults
    to :func:`resolve_host`. With ``public_hosts`` a host that matches no entry is still
    allowed when all its addresses are public (webhook targets: anyone's server, never the
    internal network). Raises :class:`DownloadRefused` or :class:`DownloadFailed` (the name
    does not resolve).
    """
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise DownloadRefused("The URL contains spaces or control characters.", url=url)
    try:
        parsed = parse_url(url)
    except urllib3_errors.LocationParseError:
        raise DownloadRefused("The URL is not valid.", url=url) from None
    if parsed.scheme not in ("http", "https"):
        raise DownloadRefused(
            f"Only http and https URLs are downloaded, not {parsed.scheme or 'scheme-less'} ones.",
            url=url,
        )
    if not parsed.host:
        raise DownloadRefused("The URL has no host.", url=url)
    host = parsed.host.strip("[]")
    default_port = 443 if parsed.scheme == "https" else 80
    port = parsed.port or default_port
    match: Literal["exact", "domain", "public"] | None = _match(host, port, default_port, entries)
    if match is None and public_hosts:
        match = "public"
    if match is None:
        # Decided before any connection, so the text is the same whether the port is open or not.
        raise DownloadRefused(f"Host {host} port {port} is not in the allowed hosts.", url=url)

    if _as_ip(host) is not None:
        addresses: tuple[str, ...] = (host,)
    else:
        try:
            # Normalized to IP addresses so that nothing downstream resolves again.
            addresses = tuple(str(ipaddress.ip_address(a)) for a in (resolve or resolve_host)(host, port))
        except (OSError, UnicodeError):
            raise DownloadFailed(f"Could not resolve host {host}.", url=url) from None
        if not addresses:
            raise DownloadFailed(f"Host {host} has no address.", url=url)
    # Exact entries are trusted wherever they point (a simulator on 127.0.0.1);
    # a name allowed through a domain entry (or through public_hosts) must resolve only
    # to public addresses, or one DNS record would open the internal network.
    if match != "exact":
        for address in addresses:
            if not address_is_public(address):
                # The address itself stays out: this text may reach whoever typed the URL.
                raise DownloadRefused(f"Host {host} is on a non-public address.", url=url)
    return Target(
        url=url,
        scheme=parsed.scheme,
        host=host,
        port=port,
        request_uri=parsed.request_uri,
        addresses=addresses,
    )


def check_url(
    url: str, *, allowed_hosts: Sequence[str], public_hosts: bool = False, resolve: Resolver | None = None
) -> None:
    """Apply the policy of :func:`~generations.net.send.send` to ``url`` without connecting.

    Raises :class:`DownloadRefused` (the policy forbids it) or :class:`DownloadFailed`
    (the name does not resolve).
    """
    check(url, normalize_entries(allowed_hosts), resolve, public_hosts=public_hosts)
