"""GMI's pre-signed upload URL gets the mirroring address policy: no PUT to loopback, private or unlisted targets."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from generations.gmi.errors import UpstreamRejected
from generations.gmi.requestqueue import RequestQueueBackend
from generations.net import policy
from gmi_simulator import GMISimulator
from tests.helpers.settings import TEST_API_KEY

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Listener:
    """A bare TCP listener that records every connection and byte it receives."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.host, self.port = self.sock.getsockname()[:2]
        self.received = b""
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(0.5)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener("127.0.0.2")  # loopback too, but not the simulator's allowed 127.0.0.1:PORT
    yield server
    server.close()


@pytest.fixture
def no_connections(monkeypatch) -> None:
    """Tests about private addresses must never dial one: any connection attempt fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a connection was attempted: {args}")

    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        # Guards every client (requests too): only the simulator on 127.0.0.1 may be looked up.
        if host not in ("127.0.0.1", b"127.0.0.1"):
            raise AssertionError(f"a lookup of {host!r} was attempted")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


def test_upload_put_to_another_loopback_address_is_refused_and_no_byte_reaches_it(backend, simulator, listener):
    simulator.set_fault("upload_target", url=f"http://127.0.0.2:{listener.port}/bucket/up.png")

    with pytest.raises(UpstreamRejected, match="upload URL was refused"):
        backend.upload_file(PNG, file_type="png")

    assert (listener.connections, listener.received) == (0, b"")


@pytest.mark.parametrize(
    "authority", ["[::ffff:127.0.0.1]:{port}", "[::1]:{port}", "127.0.0.1:{other}", "localhost:{port}"]
)
def test_upload_put_to_loopback_spelt_otherwise_or_on_another_port_is_refused(backend, simulator, authority):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        other = closed.getsockname()[1]
    target = authority.format(port=simulator.port, other=other)
    simulator.set_fault("upload_target", url=f"http://{target}/storage/gmi-uploads/x.png?sig=s3cr3t")

    with pytest.raises(UpstreamRejected) as caught:
        backend.upload_file(PNG, file_type="png")

    assert "not in the allowed hosts" in caught.value.message and "s3cr3t" not in caught.value.message
    assert simulator.journal(endpoint="upload") == []


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "::ffff:10.0.0.5", "100.64.0.1"])
def test_upload_put_to_an_allowed_domain_resolving_to_a_private_address_is_refused(
    simulator, monkeypatch, no_connections, address
):
    backend = RequestQueueBackend(
        api_key=TEST_API_KEY, base_url=simulator.base_url, upload_allowed_hosts=[".gmi-serving.com"], read_timeout=2
    )
    asked: list[str] = []
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: asked.append(host) or [address])
    simulator.set_fault("upload_target", url="https://uploads.gmi-serving.com/bucket/up.png?sig=s3cr3t")

    with pytest.raises(UpstreamRejected, match="non-public address"):
        backend.upload_file(PNG, file_type="png")

    assert asked == ["uploads.gmi-serving.com"]


def test_upload_put_to_an_unlisted_host_is_refused_before_resolving(backend, simulator, monkeypatch, no_connections):
    monkeypatch.setattr(policy, "resolve_host", lambda host, port: pytest.fail("resolved an unlisted host"))
    simulator.set_fault("upload_target", url="https://metadata.attacker.test/up.png")

    with pytest.raises(UpstreamRejected, match="not in the allowed hosts"):
        backend.upload_file(PNG, file_type="png")


def test_upload_put_redirected_elsewhere_is_not_followed(backend, simulator: GMISimulator, listener):
    # A listener that answers every request with a redirect to the other loopback listener.
    redirector = Listener("127.0.0.1")
    target = f"http://127.0.0.2:{listener.port}/stolen"

    def serve_redirect() -> None:
        conn, _ = redirector.sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n".encode())

    redirector._stop.set()
    redirector._thread.join(2)
    thread = threading.Thread(target=serve_redirect, daemon=True)
    thread.start()
    allowed = RequestQueueBackend(
        api_key=TEST_API_KEY,
        base_url=simulator.base_url,
        upload_allowed_hosts=[f"127.0.0.1:{redirector.port}", f"127.0.0.2:{listener.port}"],
        read_timeout=2,
    )
    simulator.set_fault("upload_target", url=f"http://127.0.0.1:{redirector.port}/up.png")
    try:
        with pytest.raises(UpstreamRejected, match="redirect, not followed"):
            allowed.upload_file(PNG, file_type="png")
    finally:
        thread.join(2)
        redirector.sock.close()
    assert listener.connections == 0


def test_upload_put_to_the_simulator_storage_still_works(backend, simulator):
    public_url = backend.upload_file(PNG, file_type="png")

    [put] = simulator.journal(endpoint="upload")
    assert (put["status"], put["body_bytes"]) == (200, len(PNG)) and public_url.startswith(simulator.url)
