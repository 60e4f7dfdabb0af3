"""A small real HTTP server on 127.0.0.1 serving canned routes, for the outbound HTTP tests."""
from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOCAL = ["127.0.0.1"]
Route = Callable[[BaseHTTPRequestHandler], None]


# --- A small real HTTP server ------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.accepted = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.release = threading.Event()  # lets stalling handlers finish at teardown
        super().__init__(("127.0.0.1", 0), Handler)

    def get_request(self):  # type: ignore[no-untyped-def]
        request = super().get_request()
        self.accepted += 1
        return request

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # clients hanging up mid-body is what several tests are about

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def allowed(self) -> list[str]:
        """The allow-list entry for this server: its address and port."""
        return [f"127.0.0.1:{self.port}"]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_GET(self) -> None:  # http.server's naming
        self.server.requests.append((self.path, dict(self.headers)))
        route = self.server.routes.get(urlsplit(self.path).path)
        if route is None:
            self.send_error(404)
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:  # http.server's signature
        pass


def body(
    data: bytes, content_type: str = "application/octet-stream", length: bool = True
) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        if length:
            handler.send_header("Content-Length", str(len(data)))
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(data)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def status(code: int) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(code)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"no")

    return route


def resolver(
    table: dict[str, list[str]], calls: list[str] | None = None
) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return table[host]

    return resolve
