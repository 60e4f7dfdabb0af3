"""Safe streaming downloads of third-party URLs (GMI outputs) into temporary files, and policy-checked uploads to them.

Django-free, so that the ``gmi`` layer can send its pre-signed upload PUT through the same
address policy (:func:`send`) as mirroring downloads.
"""
from __future__ import annotations

import hashlib
import heapq
import http.client
import ipaddress
import itertools
import os
import queue
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import certifi
import urllib3
from urllib3 import exceptions as urllib3_errors
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import parse_url

__all__ = [
    "DownloadError",
    "DownloadExpired",
    "DownloadFailed",
    "DownloadRefused",
    "DownloadTooLarge",
    "Downloaded",
    "address_is_public",
    "check_url",
    "download",
    "host_allowed",
    "parse_allowed_hosts",
    "redact_url",
    "resolve_host",
    "send",
]

Resolver = Callable[[str, int], Sequence[str]]

USER_AGENT = "gmi-video-portal-mirror/1"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})

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


# --- Errors ------------------------------------------------------------------


class DownloadError(Exception):
    """Root of download errors.

    The message is safe to show and store: it never contains a query string (where
    signed URLs keep their signature) nor credentials. ``url`` is the URL concerned
    with those parts removed; ``status_code`` is the HTTP status when there was one.
    Raised as such (not as a subclass) for an unexpected, non-transient answer such
    as HTTP 400 or a redirect without a Location.
    """

    def __init__(self, message: str, *, url: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.url = redact_url(url) if url else None
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class DownloadRefused(DownloadError):
    """Final: the URL breaks the policy (scheme, host, address, redirect count).

    No connection was made for the refused URL.
    """


class DownloadTooLarge(DownloadError):
    """Final: the body is larger than the byte cap (announced or actually sent)."""


class DownloadExpired(DownloadError):
    """HTTP 401/403/404/410 from the file host: a signed URL has probably expired.

    Fetch the job again for fresh URLs rather than retrying this one.
    """


class DownloadFailed(DownloadError):
    """Transient: network error, timeout, deadline, HTTP 5xx/429, body cut short."""


# --- Policy ------------------------------------------------------------------


def redact_url(url: str) -> str:
    """Return ``url`` without credentials, query string and fragment, for logs."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparseable URL>"


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
    only by a dotted entry must also resolve to public addresses (see :func:`download`).
    """
    entries = [_normalize_entry(entry) for entry in allowed_hosts]
    return _match(host, port or default_port, default_port, entries) is not None


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
class _Target:
    url: str
    scheme: str
    host: str  # as sent in Host and SNI; IPv6 without brackets
    port: int
    request_uri: str
    addresses: tuple[str, ...]  # checked; the only ones we may connect to


def _check(url: str, entries: Sequence[str], resolve: Resolver, *, public_hosts: bool = False) -> _Target:
    """Apply the policy to ``url`` before any connection; return where to connect.

    With ``public_hosts`` a host that matches no entry is still allowed when all its
    addresses are public (webhook targets: anyone's server, never the internal network).
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
            addresses = tuple(str(ipaddress.ip_address(a)) for a in resolve(host, port))
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
    return _Target(
        url=url,
        scheme=parsed.scheme,
        host=host,
        port=port,
        request_uri=parsed.request_uri,
        addresses=addresses,
    )


# --- Transport ---------------------------------------------------------------


class _Watchdog:
    """One thread per process that fires every download's deadline when its time comes.

    A timer thread per download would cost a thread start per file, which a pipeline
    copying dozens of files a second pays in GIL hand-offs; the deadlines share this
    one instead. Deadlines that end early are dropped lazily (the heap is compacted
    when they outnumber the live ones).
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._sequence = itertools.count()
        self._live = 0
        self._owner: tuple[int, threading.Thread] | None = None

    def add(self, deadline: _Deadline) -> None:
        with self._wake:
            if self._owner is None or self._owner[0] != os.getpid() or not self._owner[1].is_alive():
                thread = threading.Thread(target=self._run, name="download-deadlines", daemon=True)
                self._owner = (os.getpid(), thread)  # a forked child starts its own
                thread.start()
            heapq.heappush(self._heap, (deadline.ends_at, next(self._sequence), deadline))
            self._live += 1
            self._wake.notify()

    def discard(self, deadline: _Deadline) -> None:
        with self._wake:
            self._live -= 1
            if len(self._heap) > 2 * self._live + 64:
                self._heap = [entry for entry in self._heap if not entry[2].closed]
                heapq.heapify(self._heap)

    def _run(self) -> None:
        while True:
            with self._wake:
                while True:
                    while self._heap and self._heap[0][2].closed:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._wake.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        due = heapq.heappop(self._heap)[2]
                        break
                    self._wake.wait(delay)
            due.expire()


_watchdog = _Watchdog()


class _Deadline:
    """A wall-clock limit that also interrupts a read blocked on a trickling server.

    Socket timeouts apply per read, so a server sending one byte per second never
    trips them; when time is up, the process's watchdog shuts the watched sockets
    down, which wakes any blocked read.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.closed = False
        self.ends_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        _watchdog.add(self)

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same connection: it stays valid after TLS
        # wrapping detaches the original socket object, and cannot be reused for an
        # unrelated connection while we hold it.
        duplicate = sock.dup()
        with self._lock:
            self._sockets.append(duplicate)
            if self.expired:
                self._shutdown(duplicate)

    def expire(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.expired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
        _watchdog.discard(self)


class _PinnedConnectionMixin:
    """Connects to the addresses the policy checked instead of resolving the host again.

    The host name is kept for the Host header, TLS SNI and certificate verification,
    while the TCP connection goes to an approved address: no DNS-rebinding window.
    """

    port: int
    timeout: Any

    def __init__(
        self,
        *args: Any,
        pinned_addresses: Sequence[str],
        connect_timeout: float,
        deadline: _Deadline,
        **kwargs: Any,
    ) -> None:
        self.pinned_addresses = pinned_addresses
        self.connect_timeout = connect_timeout
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        error: OSError = OSError("no address to connect to")
        for address in self.pinned_addresses:
            timeout = min(self.connect_timeout, self.deadline.remaining())
            if timeout <= 0:
                raise TimeoutError("deadline reached before connecting")
            try:
                sock = socket.create_connection((address, self.port), timeout=timeout)
            except OSError as exc:
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout)
            self.deadline.watch(sock)
            return sock
        raise error


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


def _connect(
    target: _Target,
    *,
    deadline: _Deadline,
    connect_timeout: float,
    read_timeout: float,
    ca_bundle: str | None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[HTTPConnection, urllib3.BaseHTTPResponse]:
    pinning: dict[str, Any] = {
        "pinned_addresses": target.addresses,
        "connect_timeout": connect_timeout,
        "deadline": deadline,
    }
    connection: HTTPConnection
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(
            target.host,
            target.port,
            timeout=read_timeout,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_bundle or certifi.where(),
            **pinning,
        )
    else:
        connection = _PinnedHTTPConnection(
            target.host, target.port, timeout=read_timeout, **pinning
        )
    try:
        connection.request(
            method,
            target.request_uri,
            body=body,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
                # Media is not worth compressing, and an identity body lets the
                # announced length be checked against what arrives.
                "Accept-Encoding": "identity",
                "Connection": "close",
                **(headers or {}),
            },
            preload_content=False,
            decode_content=True,
            enforce_content_length=True,
        )
        return connection, connection.getresponse()
    except BaseException:
        connection.close()
        raise


# --- Upload --------------------------------------------------------------------


def check_url(
    url: str, *, allowed_hosts: Sequence[str], public_hosts: bool = False, resolve: Resolver | None = None
) -> None:
    """Apply the policy of :func:`send` to ``url`` without connecting.

    Raises :class:`DownloadRefused` (the policy forbids it) or :class:`DownloadFailed`
    (the name does not resolve).
    """
    entries = [_normalize_entry(entry) for entry in allowed_hosts]
    _check(url, entries, resolve or resolve_host, public_hosts=public_hosts)


def send(
    method: str,
    url: str,
    *,
    allowed_hosts: Sequence[str],
    body: bytes,
    headers: dict[str, str] | None = None,
    connect_timeout: float = 5,
    read_timeout: float = 30,
    deadline: float = 300,
    resolve: Resolver | None = None,
    ca_bundle: str | None = None,
    public_hosts: bool = False,
) -> tuple[int, bytes]:
    """Send one request with ``body`` to ``url`` under the policy of :func:`download`.

    The URL is checked before connecting and the connection goes to a checked address,
    exactly as for a download; a redirect is returned as its status, never followed
    (a body cannot be re-sent blindly to a place nobody checked). Returns the status and
    at most 2000 bytes of the answer. Raises :class:`DownloadRefused` (nothing was sent)
    or :class:`DownloadFailed` (network error, timeout). ``public_hosts``: see :func:`_check`.
    """
    entries = [_normalize_entry(entry) for entry in allowed_hosts]
    target = _check(url, entries, resolve or resolve_host, public_hosts=public_hosts)
    clock = _Deadline(deadline)
    connection: HTTPConnection | None = None
    try:
        connection, response = _connect(
            target,
            deadline=clock,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_bundle=ca_bundle,
            method=method,
            body=body,
            headers={"Content-Length": str(len(body)), **(headers or {})},
        )
        try:
            return response.status, response.read(2000)
        finally:
            response.close()
    except (OSError, http.client.HTTPException, urllib3_errors.HTTPError) as exc:
        if clock.expired:
            raise _deadline_error(clock, url) from exc
        raise DownloadFailed(_describe(exc, target.host), url=url) from exc
    finally:
        if connection is not None:
            connection.close()
        clock.close()


# --- Download ----------------------------------------------------------------


class _BackgroundDigest:
    """SHA-256 of a body, computed in a helper thread while the body is still arriving.

    Hashing a 1 GB video takes about as long as receiving it; hashlib releases the GIL,
    so in its own thread it overlaps the socket reads and file writes instead of adding
    to them. Identity bodies are read into a few recycled buffers (``buffer()``, handed
    back once hashed), which also spares a fresh megabyte allocation per read; memory
    stays at ``buffers`` × ``chunk_size``.

    Most bodies (thumbnails, short clips) are a few megabytes: for them a thread and
    four zeroed buffers would cost more than the hashing itself, so the first
    ``inline_bytes`` are hashed in the caller's thread, and the helper thread and the
    other buffers only appear once a body proves longer.
    """

    def __init__(self, *, buffers: int = 4, chunk_size: int = 1 << 20, inline_bytes: int = 4 << 20) -> None:
        self._digest = hashlib.sha256()
        self._buffers = max(1, buffers)
        self._chunk_size = chunk_size
        self._inline_left = inline_bytes
        self._made = 0
        self._queue: queue.Queue[tuple[bytes | memoryview, bytearray | None] | None] = queue.Queue(maxsize=buffers)
        self._free: queue.Queue[bytearray] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            data, recycled = item
            self._digest.update(data)
            if recycled is not None:
                self._free.put(recycled)

    def buffer(self) -> bytearray:
        """A buffer to read into; waits while every buffer still awaits hashing."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            if self._made < self._buffers:
                self._made += 1
                return bytearray(self._chunk_size)
            return self._free.get()

    def update(self, data: bytes | memoryview, *, recycled: bytearray | None = None) -> None:
        """Hash ``data`` next; ``recycled`` (the buffer it views) is reused once hashed."""
        if self._thread is None and len(data) <= self._inline_left:
            self._inline_left -= len(data)
            self._digest.update(data)
            if recycled is not None:
                self._free.put(recycled)
            return
        if self._thread is None:  # from here on, in order, in the helper thread
            self._thread = threading.Thread(target=self._run, name="download-sha256", daemon=True)
            self._thread.start()
        self._queue.put((data, recycled))

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _chunks(
    response: urllib3.BaseHTTPResponse, digest: _BackgroundDigest, chunk_size: int
) -> Iterator[tuple[memoryview | bytes, bytearray | None]]:
    """The body in pieces, each with the recycled buffer it lies in (None if none).

    An identity body is read straight from the underlying http.client response into
    the digest's buffers (http.client still undoes chunked framing and reports a body
    cut short); anything else goes through urllib3's decoding stream.
    """
    raw = getattr(response, "_fp", None)
    identity = response.headers.get("Content-Encoding", "identity").lower() == "identity"
    if not identity or not isinstance(raw, http.client.HTTPResponse):
        for chunk in response.stream(chunk_size, decode_content=True):
            yield chunk, None
        return
    while True:
        buffer = digest.buffer()
        count = raw.readinto(buffer)
        if not count:
            digest.update(b"", recycled=buffer)
            return
        yield memoryview(buffer)[:count], buffer


@dataclass
class Downloaded:
    """A downloaded body in a temporary file; closing it deletes the file.

    ``file`` is open for binary reading at position 0 and has a ``name`` (its
    path). ``sha256`` is the hex digest and ``size`` the byte count of exactly what
    was written; ``content_type`` is the server's claim (media type only, lower-case),
    not to be trusted over :func:`generations.media.sniff`; ``final_url`` is the URL
    after redirects (with its query string: do not log it, see :func:`redact_url`).
    """

    file: IO[bytes]
    size: int
    sha256: str
    content_type: str | None
    final_url: str

    @property
    def path(self) -> str:
        return str(self.file.name)

    def close(self) -> None:
        # The caller may already have moved the file away.
        with suppress(FileNotFoundError):
            self.file.close()

    def __enter__(self) -> Downloaded:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def download(
    url: str,
    *,
    allowed_hosts: Sequence[str],
    max_bytes: int,
    connect_timeout: float = 5,
    read_timeout: float = 30,
    deadline: float = 300,
    max_redirects: int = 5,
    chunk_size: int = 1 << 20,
    resolve: Resolver | None = None,
    ca_bundle: str | None = None,
    tmp_dir: str | None = None,
) -> Downloaded:
    """Download ``url`` into a temporary file, within the policy and the limits.

    Policy, applied to ``url`` and to every redirect before connecting: http/https
    only; the host must match ``allowed_hosts`` (see :func:`host_allowed`); hosts
    matched exactly are trusted on any address (this is how a local simulator is
    allowed), hosts matched only through a ``.domain`` entry must resolve to public
    addresses only (:func:`address_is_public`). The host is resolved once per hop
    with ``resolve(host, port)`` (default :func:`resolve_host`; tests inject their
    own) and the connection goes to a checked address, keeping the host name for
    the Host header, TLS SNI and certificate verification (``ca_bundle``, default
    certifi's). At most ``max_redirects`` redirects are followed.

    Limits: ``connect_timeout`` per connection attempt, ``read_timeout`` per read,
    ``deadline`` seconds for the whole download including redirects (DNS lookups
    are not interruptible and are only checked between hops), and ``max_bytes``
    for the body: a larger Content-Length is refused before reading, a body growing
    past it is aborted. A body shorter than its Content-Length is an error; a body
    without one ends when the server closes, so verify the file afterwards
    (:func:`generations.media.verify`). Bodies are read ``chunk_size`` bytes at a time
    (1 MiB: a 1 GB file in a thousand reads, while memory stays flat).

    Returns a :class:`Downloaded` that the caller must close (or use as a context
    manager). Raises :class:`DownloadRefused`, :class:`DownloadTooLarge`,
    :class:`DownloadExpired`, :class:`DownloadFailed`, or :class:`DownloadError` for
    any other unexpected answer. A malformed ``allowed_hosts`` entry raises
    ValueError: it is a configuration error, not a download error.
    """
    entries = [_normalize_entry(entry) for entry in allowed_hosts]
    resolver = resolve or resolve_host
    clock = _Deadline(deadline)
    current = url
    try:
        for _hop in range(max_redirects + 1):
            if clock.remaining() <= 0:
                raise _deadline_error(clock, current)
            target = _check(current, entries, resolver)
            connection: HTTPConnection | None = None
            try:
                connection, response = _connect(
                    target,
                    deadline=clock,
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    ca_bundle=ca_bundle,
                )
                try:
                    if response.status in _REDIRECT_STATUSES:
                        current = _redirect_location(response, current)
                        continue
                    _raise_for_status(response.status, target)
                    return _receive(
                        response,
                        target=target,
                        clock=clock,
                        max_bytes=max_bytes,
                        chunk_size=chunk_size,
                        tmp_dir=tmp_dir,
                    )
                finally:
                    response.close()
            except DownloadError:
                raise
            except (OSError, http.client.HTTPException, urllib3_errors.HTTPError) as exc:
                if clock.expired:
                    raise _deadline_error(clock, current) from exc
                raise DownloadFailed(_describe(exc, target.host), url=current) from exc
            finally:
                if connection is not None:
                    connection.close()
        raise DownloadRefused(f"More than {max_redirects} redirects.", url=current)
    finally:
        clock.close()


def _redirect_location(response: urllib3.BaseHTTPResponse, current: str) -> str:
    location = response.headers.get("Location")
    if not location:
        raise DownloadError(
            f"HTTP {response.status} redirect without a Location.",
            url=current,
            status_code=response.status,
        )
    return urljoin(current, location)


def _raise_for_status(status: int, target: _Target) -> None:
    if status == 200 or status == 203:
        return
    message = f"{target.host} answered HTTP {status}"
    if status in _EXPIRED_STATUSES:
        raise DownloadExpired(
            f"{message}: the link has probably expired.", url=target.url, status_code=status
        )
    if status >= 500 or status in _TRANSIENT_STATUSES:
        raise DownloadFailed(f"{message}.", url=target.url, status_code=status)
    raise DownloadError(f"{message}, which was not expected.", url=target.url, status_code=status)


def _receive(
    response: urllib3.BaseHTTPResponse,
    *,
    target: _Target,
    clock: _Deadline,
    max_bytes: int,
    chunk_size: int,
    tmp_dir: str | None,
) -> Downloaded:
    status = response.status
    announced = _content_length(response, target)
    if announced is not None and announced > max_bytes:
        raise DownloadTooLarge(
            f"{target.host} announced {announced} bytes, more than the {max_bytes} allowed.",
            url=target.url,
            status_code=status,
        )
    file = tempfile.NamedTemporaryFile(prefix="download-", dir=tmp_dir)  # noqa: SIM115 (handed to the caller, who closes it)
    digest = _BackgroundDigest(chunk_size=chunk_size)
    try:
        size = 0
        for chunk, buffer in _chunks(response, digest, chunk_size):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadTooLarge(
                    f"{target.host} sent more than the {max_bytes} bytes allowed.",
                    url=target.url,
                    status_code=status,
                )
            file.write(chunk)
            digest.update(chunk, recycled=buffer)
        # Without a Content-Length, a connection shut by the deadline looks like a
        # normal end of body: only the clock can tell.
        if clock.expired:
            raise _deadline_error(clock, target.url)
        identity = response.headers.get("Content-Encoding", "identity").lower() == "identity"
        if announced is not None and identity and size != announced:
            raise DownloadFailed(
                f"The body from {target.host} was cut short: {size} of {announced} bytes.",
                url=target.url,
                status_code=status,
            )
        file.flush()
        file.seek(0)
        sha256 = digest.hexdigest()
    except BaseException:
        file.close()
        raise
    finally:
        digest.close()
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Downloaded(
        file=file,
        size=size,
        sha256=sha256,
        content_type=media_type or None,
        final_url=target.url,
    )


def held(data: bytes, *, url: str, tmp_dir: str | None = None) -> Downloaded:
    """Bytes already in hand (a backend that keeps its outcomes in memory), as a download would hand them over."""
    file = tempfile.NamedTemporaryFile(prefix="download-", dir=tmp_dir)  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        file.write(data)
        file.flush()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Downloaded(file=file, size=len(data), sha256=hashlib.sha256(data).hexdigest(), content_type=None,
                      final_url=url)


def _content_length(response: urllib3.BaseHTTPResponse, target: _Target) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        length = -1
    if length < 0:
        raise DownloadFailed(
            f"{target.host} sent an invalid Content-Length.",
            url=target.url,
            status_code=response.status,
        )
    return length


def _deadline_error(clock: _Deadline, url: str) -> DownloadFailed:
    return DownloadFailed(f"The download did not finish within {clock.seconds:g} s.", url=url)


def _describe(exc: BaseException, host: str) -> str:
    """A human, secret-free account of a transport error."""
    if isinstance(exc, http.client.IncompleteRead) or (
        isinstance(exc, urllib3_errors.ProtocolError) and "IncompleteRead" in str(exc)
    ):
        return f"The body from {host} was cut short."
    if isinstance(exc, (TimeoutError, socket.timeout, urllib3_errors.TimeoutError)):
        return f"Timed out talking to {host}."
    if isinstance(exc, (urllib3_errors.SSLError, OSError)) and "CERTIFICATE" in str(exc).upper():
        return f"TLS certificate of {host} could not be verified: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{host} refused the connection."
    if isinstance(exc, OSError) and exc.strerror:
        return f"Network error talking to {host}: {exc.strerror}."
    return f"Network error talking to {host} ({type(exc).__name__})."
