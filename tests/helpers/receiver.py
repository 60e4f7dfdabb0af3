"""A webhook receiver on 127.0.0.1 (real HTTP, scripted answers) and the check of what it was sent."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook


class Receiver:
    """A local HTTP receiver on 127.0.0.1: records each request, answers the scripted statuses then 200."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: list[int] = []
        self.delay = 0.0  # seconds each answer takes
        self.echo = False  # answer with what was received (to see everything a delivery carried)
        self.open_now = self.open_most = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver._lock:
                    receiver.open_now += 1
                    receiver.open_most = max(receiver.open_most, receiver.open_now)
                try:
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                    receiver.requests.append({"headers": dict(self.headers), "body": body, "at": time.monotonic()})
                    code = receiver.script.pop(0) if receiver.script else 200
                    time.sleep(receiver.delay)  # a slow receiver is the behaviour under test
                    answer = json.dumps(dict(self.headers)).encode() + body if receiver.echo else b"ok"
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                finally:
                    with receiver._lock:
                        receiver.open_now -= 1

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(gmi, settings):
    """A receiver the app may send to (its port allowed by setting), with the site's public address set."""
    server = Receiver()
    settings.GENERATIONS = {**settings.GENERATIONS, "WEBHOOK_ALLOWED_HOSTS": [f"127.0.0.1:{server.port}"],
                            "SITE_URL": "https://portal.example.com"}
    yield server
    server.close()


def verify(secret: str, request: dict) -> dict:
    """The event a recorded request carried, its Standard Webhooks signature checked with ``secret``."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return Webhook(secret).verify(request["body"], headers)
