"""A hostile HTTP server on 127.0.0.1 for transport tests: redirects, endless answers, trickles (real sockets)."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Hostile:
    """What the server answers, and what it saw (request lines, bodies by path)."""

    port: int = 0
    #: "redirect" (307 to ``location``), "huge" (``size`` bytes announced and sent),
    #: "endless" (no Content-Length, ``size`` bytes), "trickle" (valid JSON, one byte
    #: every ``every`` seconds), "trickle_headers" (the status line, then one header byte
    #: every ``every`` seconds), "ok" (a small JSON answer).
    mode: str = "ok"
    location: str = ""
    size: int = 0
    every: float = 1.0
    seen: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _read_request(conn: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return "", b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0], body


def _answer(server: Hostile, conn: socket.socket, stop: threading.Event) -> None:
    try:
        line, body = _read_request(conn)
        if not line:
            return
        server.seen.append(line)
        server.bodies.append(body)
        mode = server.mode
        if mode == "redirect":
            conn.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {server.location}\r\n"
                         "Content-Length: 0\r\n\r\n".encode())
        elif mode in ("huge", "endless"):
            length = f"Content-Length: {server.size}\r\n" if mode == "huge" else "Connection: close\r\n"
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode())
            block = b"[" + b" " * (1024 * 1024 - 1)
            sent = 0
            while sent < server.size and not stop.is_set():
                piece = block[: server.size - sent] if sent == 0 else b" " * min(len(block), server.size - sent)
                conn.sendall(piece)
                sent += len(piece)
        elif mode == "trickle":
            answer = b'{"request_id": "req-trickle", "status": "queued"}'
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(answer)}\r\n\r\n".encode())
            for byte in answer:
                if stop.wait(server.every):
                    return
                conn.sendall(bytes([byte]))
        elif mode == "trickle_headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            for byte in b"X-Slow: " + b"a" * 10_000:
                if stop.wait(server.every):
                    return
                conn.sendall(bytes([byte]))
        else:
            # An honest server keeps the connection alive and answers every request sent on it
            # (closing after one answer without saying so would race the client's next request).
            answer = b'{"request_id": "req-ok", "status": "queued"}'
            while line and not stop.is_set():
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(answer)}\r\n\r\n".encode() + answer)
                line, body = _read_request(conn)
                if line:
                    server.seen.append(line)
                    server.bodies.append(body)
    except OSError:
        pass  # the client hung up, as it should
    finally:
        conn.close()


@contextmanager
def hostile_server(**options) -> Iterator[Hostile]:
    """Serve on 127.0.0.1 (a free port) in background threads for the duration of the block."""
    server = Hostile(**options)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    server.port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=_answer, args=(server, conn, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        time.sleep(0)


def rss_bytes() -> int:
    """This process's resident set size now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
