"""Streaming downloads of third-party URLs (GMI outputs) into temporary files, within caps and a deadline."""
from __future__ import annotations

import hashlib
import http.client
import queue
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin

import urllib3

from . import policy, transport
from .errors import DownloadError, DownloadExpired, DownloadFailed, DownloadRefused, DownloadTooLarge
from .policy import Resolver, Target

__all__ = ["Downloaded", "download", "held"]

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_EXPIRED_STATUSES = frozenset({401, 403, 404, 410})
_TRANSIENT_STATUSES = frozenset({408, 425, 429})



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
    after redirects (with its query string: do not log it, see :func:`~generations.net.errors.redact_url`).
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

    Policy, applied to ``url`` and to every redirect before connecting (see
    :mod:`generations.net.policy`): http/https only; the host must match ``allowed_hosts``;
    hosts matched exactly are trusted on any address (this is how a local simulator is
    allowed), hosts matched only through a ``.domain`` entry must resolve to public
    addresses only. The host is resolved once per hop with ``resolve(host, port)``
    (default ``policy.resolve_host``; tests inject their own) and the connection goes to a
    checked address, keeping the host name for the Host header, TLS SNI and certificate
    verification (``ca_bundle``, default certifi's). At most ``max_redirects`` redirects
    are followed.

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
    entries = policy.normalize_entries(allowed_hosts)
    clock = transport.Deadline(deadline)
    current = url
    try:
        for _hop in range(max_redirects + 1):
            if clock.remaining() <= 0:
                raise transport.deadline_error(clock, current)
            target = policy.check(current, entries, resolve)
            with transport.exchange(
                target,
                deadline=clock,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                ca_bundle=ca_bundle,
            ) as response:
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


def _raise_for_status(status: int, target: Target) -> None:
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
    target: Target,
    clock: transport.Deadline,
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
            raise transport.deadline_error(clock, target.url)
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


def _content_length(response: urllib3.BaseHTTPResponse, target: Target) -> int | None:
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
