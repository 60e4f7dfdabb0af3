"""The pinned transport: connect to an address the policy checked, under one deadline per exchange.

The host name is kept for the Host header, TLS SNI and certificate verification while the
TCP connection goes to an approved address, so no second DNS answer can redirect it.
"""
from __future__ import annotations

import heapq
import http.client
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import certifi
import urllib3
from urllib3 import exceptions as urllib3_errors
from urllib3.connection import HTTPConnection, HTTPSConnection

from .errors import DownloadError, DownloadFailed
from .policy import Target

__all__ = ["USER_AGENT", "Deadline", "connect", "deadline_error", "describe", "exchange"]

USER_AGENT = "gmi-video-portal-mirror/1"


class _Watchdog:
    """One thread per process that fires every download's deadline when its time comes.

    A timer thread per download would cost a thread start per file, which a pipeline
    copying dozens of files a second pays in GIL hand-offs; the deadlines share this
    one instead. Deadlines that end early are dropped lazily (the heap is compacted
    when they outnumber the live ones).
    """

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._sequence = itertools.count()
        self._live = 0
        self._owner: tuple[int, threading.Thread] | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            if self._owner is None or self._owner[0] != os.getpid() or not self._owner[1].is_alive():
                thread = threading.Thread(target=self._run, name="download-deadlines", daemon=True)
                self._owner = (os.getpid(), thread)  # a forked child starts its own
                thread.start()
            heapq.heappush(self._heap, (deadline.ends_at, next(self._sequence), deadline))
            self._live += 1
            self._wake.notify()

    def discard(self, deadline: Deadline) -> None:
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


class Deadline:
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
        deadline: Deadline,
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


def connect(
    target: Target,
    *,
    deadline: Deadline,
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

@contextmanager
def exchange(
    target: Target,
    *,
    deadline: Deadline,
    connect_timeout: float,
    read_timeout: float,
    ca_bundle: str | None,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[urllib3.BaseHTTPResponse]:
    """One request to a checked target; the answer is read inside the ``with`` block.

    Transport errors (from connecting to the last byte read in the block) come out as
    :class:`DownloadFailed` with a secret-free text, or as the deadline's error once the
    clock has run out; connection and response are closed on the way out.
    """
    connection: HTTPConnection | None = None
    try:
        connection, response = connect(
            target,
            deadline=deadline,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_bundle=ca_bundle,
            method=method,
            body=body,
            headers=headers,
        )
        try:
            yield response
        finally:
            response.close()
    except DownloadError:
        raise
    except (OSError, http.client.HTTPException, urllib3_errors.HTTPError) as exc:
        if deadline.expired:
            raise deadline_error(deadline, target.url) from exc
        raise DownloadFailed(describe(exc, target.host), url=target.url) from exc
    finally:
        if connection is not None:
            connection.close()


def deadline_error(clock: Deadline, url: str) -> DownloadFailed:
    return DownloadFailed(f"The download did not finish within {clock.seconds:g} s.", url=url)


def describe(exc: BaseException, host: str) -> str:
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
