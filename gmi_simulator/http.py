"""The simulator's HTTP plumbing: the server and handler, routing, credentials, latency and faults applied.

Everything is served on one port:

- ``/api/v1/ie/requestqueue/apikey/...`` the request-queue API (``Authorization: Bearer``)
- ``/video/models`` (Bearer) and ``/video/...`` the legacy queue (``Authorization: Key``)
- ``/storage/...`` outcome files and uploads, authorised by signed, expiring query strings
- ``/_simulator/...`` the control API (faults, journal, clock, reset), never journaled
"""

from __future__ import annotations

import email.utils
import hmac
import math
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import control, legacy, requestqueue, storage
from .calls import Answer, Call, Simulator, api_error, json_answer, parse_json
from .faults import CALL_FAULTS
from .state import SimulatorState


class LinkPace:
    """Holds a stream to ``bytes_per_second`` (0: no limit), as the network between GMI's storage
    and a site does: before each piece it waits until the link could have carried it, so that
    the last byte arrives when it would have, not a socket buffer early."""

    def __init__(self, bytes_per_second: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bytes_per_second = bytes_per_second
        self._clock, self._sleep = clock, sleep
        self._start = clock()
        self._sent = 0

    def send(self, count: int) -> None:
        if self.bytes_per_second <= 0:
            return
        self._sent += count
        ahead = self._start + self._sent / self.bytes_per_second - self._clock()
        if ahead > 0:
            self._sleep(ahead)

MAX_BODY = 64 * 1024 * 1024

#: Legacy queue endpoints authenticate with ``Key``; every other API call with ``Bearer``.
_KEY_AUTH_ENDPOINTS = frozenset({"legacy_submit", "legacy_status", "legacy_result", "legacy_cancel"})
_KNOWN_SCHEMES = {"bearer": "Bearer", "key": "Key", "basic": "Basic", "token": "Token"}
#: Call faults that answer instead of the API, and those that spoil its answer.
_PRE_FAULTS = CALL_FAULTS[:3]
_POST_FAULTS = CALL_FAULTS[3:]

#: Each API's routes: (method, endpoint, path pattern after its prefix, handler).
_ROUTES: dict[str, list[tuple[str, str, tuple[str | None, ...], Callable[..., Answer]]]] = {
    "requestqueue": requestqueue.ROUTES,
    "legacy": legacy.ROUTES,
    "storage": storage.ROUTES,
}
_REQUEST_QUEUE_PREFIX = requestqueue.PATH.strip("/").split("/")


@dataclass(frozen=True)
class Route:
    """Where a call goes: its API, endpoint name (None if none matched), handler and path arguments."""

    api: str | None
    endpoint: str | None = None
    handler: Callable[..., Answer] | None = None
    args: tuple[str, ...] = ()
    #: The path exists, with another method (405 rather than 404).
    path_known: bool = False


def route(method: str, segments: list[str]) -> Route:
    if segments[: len(_REQUEST_QUEUE_PREFIX)] == _REQUEST_QUEUE_PREFIX:
        api, rest = "requestqueue", segments[len(_REQUEST_QUEUE_PREFIX) :]
    elif segments[:1] in (["video"], ["storage"]):
        api, rest = ("legacy" if segments[0] == "video" else "storage"), segments[1:]
    else:
        return Route(None)
    path_known = False
    for route_method, endpoint, pattern, handler in _ROUTES[api]:
        if len(pattern) != len(rest) or any(p is not None and p != s for p, s in zip(pattern, rest)):
            continue
        if endpoint == "legacy_submit" and rest[0] in ("models", "requests"):
            continue  # model ids share the path level with these words
        path_known = True
        if route_method == method:
            return Route(api, endpoint, handler, tuple(s for p, s in zip(pattern, rest) if p is None))
    return Route(api, path_known=path_known)


def _auth_scheme(header: str | None) -> str | None:
    """The scheme word of an Authorization header; never anything that could be the key."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    return _KNOWN_SCHEMES.get(scheme.lower(), "other") if rest.strip() else "other"


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its simulator and the connections it holds open."""

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: hundreds of clients opening keep-alive connections at once
    # must all be accepted, not reset (socketserver's default is 5).
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS round trip we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def close_connections(self) -> None:
        """Cut every open connection, so that stopping does not wait for idle keep-alive clients."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from GMI
    # Without it, an answer written as headers then body waits for the client's delayed
    # ACK on a keep-alive connection: about 40 ms per call, 25 calls/s per connection.
    disable_nagle_algorithm = True
    server_version = "GMISimulator/1.0"
    timeout = 120  # idle keep-alive connections do not hold a thread forever
    server: SimulatorHTTPServer

    # --- plumbing ------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass  # the client went away; nothing left to flush to

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # each call is logged once, with its fault, in _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        self.simulator.log(format % args)

    @property
    def simulator(self) -> Simulator:
        return self.server.simulator

    @property
    def state(self) -> SimulatorState:
        return self.server.simulator.state

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _origin(self) -> str:
        # Absolute URLs use the host the client used, so they work from wherever it is.
        return f"http://{self.headers.get('Host') or self.simulator.authority}"

    def _send(self, answer: Answer, *, head: bool = False, body: bytes | None = None) -> None:
        payload = answer.body if body is None else body
        start, stop = answer.span
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(stop - start if answer.stream is not None else len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.stream is None and not head:
            # Headers and body in one write: one system call, one packet for a poll answer.
            self._headers_buffer.append(b"\r\n" + payload)
            self.flush_headers()
            return
        self.end_headers()
        if head:
            return
        pace = LinkPace(self.simulator.storage_bytes_per_second)
        for chunk in answer.stream.chunks(start, stop):
            pace.send(len(chunk))
            self.wfile.write(chunk)

    def _read_body(self) -> bytes | None:
        """The request body; None when it cannot be read (too large, or chunked)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None  # GMI's clients send a Content-Length; so do ours
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    # --- dispatch ------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        received = time.monotonic()
        parts = urlsplit(self.path)
        segments = [unquote(segment) for segment in parts.path.strip("/").split("/") if segment]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        raw = self._read_body()
        if raw is None:
            self.close_connection = True  # the unread body would garble the next request
            self._send(json_answer(413, {"error": f"send a Content-Length of at most {MAX_BODY} bytes"}))
            return
        if segments[:1] == [control.PREFIX] or not segments:
            self._send(control.answer(self.simulator, method, segments[1:], query, raw), head=method == "HEAD")
            return

        found = route(method, segments)
        api, endpoint = found.api, found.endpoint
        content_type = self.headers.get("Content-Type", "")
        entry = self.state.record(
            {
                "time": time.time(),
                "method": method,
                "path": parts.path,
                "query": query,
                "api": api,
                "endpoint": endpoint,
                "auth_scheme": _auth_scheme(self.headers.get("Authorization")),
                "organization": self.headers.get("X-Organization-ID"),
                "content_type": content_type or None,
                "body": parse_json(raw) if "json" in content_type else None,
                "body_bytes": len(raw),
                "status": None,
                "fault": None,
            }
        )
        answer = self._answer(Call(self.simulator, method, self.headers, query, raw, self._origin()), found)
        spoil = answer.spoil
        if spoil is None and endpoint is not None and not answer.final:
            spoil = next(
                (
                    (name, params)
                    for name in _POST_FAULTS
                    if (params := self.state.faults.draw(name, endpoint)) is not None
                ),
                None,
            )
        fault = spoil[0] if spoil else answer.fault
        self.state.update_entry(entry, status=None if fault == "lost_response" else answer.status, fault=fault)
        if not self.simulator.quiet:
            self.simulator.log(f"{method} {parts.path} -> {answer.status}" + (f" [{fault}]" if fault else ""))
        if not self._hold(received, self.simulator.delay_for(api)):
            return
        self._deliver(answer, spoil, head=method == "HEAD")

    def _hold(self, received: float, seconds: float) -> bool:
        """Wait until ``seconds`` after the call arrived, as a remote GMI's round trip does;
        False when the simulator stops meanwhile.

        Each call waits in its own thread holding no lock, so concurrent calls overlap:
        200 calls at 100 ms all end after about 100 ms.
        """
        remaining = received + seconds - time.monotonic()
        if remaining > 0 and self.simulator.stopping.wait(remaining):
            self.close_connection = True
            return False
        return True

    def _deliver(self, answer: Answer, spoil: tuple[str, dict[str, Any]] | None, *, head: bool) -> None:
        name, params = spoil or ("", {})
        try:
            if name == "lost_response":
                # The call took effect; the client sees the connection close without an answer.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if name == "timeout":
                if self.simulator.stopping.wait(float(params["seconds"])):
                    self.close_connection = True
                    return
            if name == "malformed_json" and answer.stream is None:
                self._send(answer, head=head, body=answer.body[: max(1, len(answer.body) // 2)])
                return
            self._send(answer, head=head)
        except OSError:
            self.close_connection = True  # the client gave up (typically after its read timeout)

    def _answer(self, call: Call, found: Route) -> Answer:
        api, endpoint = found.api, found.endpoint
        if endpoint is None or found.handler is None:
            if found.path_known:
                return json_answer(405, {"error": f"{call.method} is not allowed here"})
            return json_answer(404, {"error": "not found"})
        if api in ("requestqueue", "legacy"):
            refusal = self._authenticate(api, endpoint)
            if refusal is not None:
                refusal.final = True
                return refusal
        for name in _PRE_FAULTS:
            params = self.state.faults.draw(name, endpoint)
            if params is not None:
                answer = _fault_answer(api, name, params)
                answer.final, answer.fault = True, name
                return answer
        return found.handler(call, *found.args)

    def _authenticate(self, api: str, endpoint: str) -> Answer | None:
        expected = "Key" if endpoint in _KEY_AUTH_ENDPOINTS else "Bearer"
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != expected.lower() or not token:
            return api_error(
                api, 401, f"missing or malformed credentials: expected 'Authorization: {expected} <api key>'"
            )
        key = self.simulator.key
        if key is not None and not hmac.compare_digest(token.encode(), key.encode()):
            return api_error(api, 401, "invalid API key")
        return None


def _fault_answer(api: str | None, name: str, params: dict[str, Any]) -> Answer:
    """The answer a pre fault gives instead of the API's."""
    if name == "rate_limit":
        seconds = float(params["retry_after"])
        retry_after = (
            email.utils.formatdate(time.time() + seconds, usegmt=True) if params["http_date"] else str(math.ceil(seconds))
        )
        return api_error(api, 429, "rate limit exceeded, slow down", {"Retry-After": retry_after})
    if name == "server_error":
        status = int(params["status"])
        if status in (502, 504):
            page = f"<html><head><title>{status}</title></head><body><h1>{status} Gateway error</h1></body></html>"
            return Answer(status, page.encode(), "text/html; charset=utf-8")
        return api_error(api, status, "internal server error, please retry later")
    return api_error(api, 400, str(params["message"]))
