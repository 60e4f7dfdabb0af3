"""Tests for policy-checked streaming downloads, against real HTTP servers on 127.0.0.1."""
from __future__ import annotations

import datetime
import hashlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from generations.downloads import (
    DownloadError,
    DownloadExpired,
    DownloadFailed,
    DownloadRefused,
    DownloadTooLarge,
    address_is_public,
    download,
    host_allowed,
    parse_allowed_hosts,
    redact_url,
)

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


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], Server]]:
    servers: list[Server] = []

    def start(routes: dict[str, Route]) -> Server:
        server = Server(routes)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def download_dir(tmp_path: Path) -> Path:
    """Where downloads put their temporary files, to prove none is left behind."""
    directory = tmp_path / "downloads"
    directory.mkdir()
    return directory


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


# --- Happy path --------------------------------------------------------------


def test_download_is_byte_exact_with_size_sha256_and_content_type(
    serve, download_dir: Path
) -> None:
    data = os.urandom(300_000)  # several chunks
    server = serve({"/video.mp4": body(data, "video/mp4; charset=binary")})

    with download(
        server.url("/video.mp4?X-Amz-Signature=abc"),
        allowed_hosts=server.allowed,
        max_bytes=1_000_000,
        chunk_size=8192,
        tmp_dir=str(download_dir),
    ) as result:
        assert result.file.read() == data
        assert result.size == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.content_type == "video/mp4"
        assert result.final_url.endswith("/video.mp4?X-Amz-Signature=abc")
        assert Path(result.path).parent == download_dir
    assert list(download_dir.iterdir()) == []  # closing removed the temp file


def test_body_without_content_length_is_read_to_the_end(serve) -> None:
    data = os.urandom(100_000)
    server = serve({"/f": body(data, length=False)})
    with download(server.url("/f"), allowed_hosts=server.allowed, max_bytes=len(data)) as result:
        assert result.size == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_a_body_longer_than_the_inline_part_is_hashed_exactly_in_the_helper_thread(serve) -> None:
    data = os.urandom(9 << 20)  # past the 4 MiB hashed inline, in 1 MiB reads
    server = serve({"/big.mp4": body(data, "video/mp4")})
    with download(server.url("/big.mp4"), allowed_hosts=server.allowed, max_bytes=len(data)) as result:
        assert result.size == len(data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.file.read() == data


def test_small_downloads_start_no_thread_of_their_own(serve, monkeypatch) -> None:
    from generations import downloads

    started: list[str] = []
    original = threading.Thread.start

    def record(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", record)
    data = os.urandom(200_000)
    server = serve({"/thumb.jpg": body(data, "image/jpeg")})
    downloads.download(server.url("/thumb.jpg"), allowed_hosts=server.allowed, max_bytes=len(data)).close()
    started.clear()  # the process's one deadline watchdog may have started with the first download
    for _ in range(5):
        with downloads.download(server.url("/thumb.jpg"), allowed_hosts=server.allowed,
                                max_bytes=len(data)) as result:
            assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert [name for name in started if name.startswith("download-")] == []  # the test server starts its own


def test_exact_entry_is_trusted_on_loopback_and_keeps_host_header(serve) -> None:
    calls: list[str] = []
    server = serve({"/f": body(b"hello")})
    with download(
        server.url("/f", host="sim.invalid"),
        allowed_hosts=[f"SIM.invalid:{server.port}"],
        max_bytes=100,
        resolve=resolver({"sim.invalid": ["127.0.0.1"]}, calls),
    ) as result:
        assert result.file.read() == b"hello"
    # "sim.invalid" exists in no DNS: the connection went to the address checked
    # once, while the server still saw the host name.
    assert calls == ["sim.invalid"]
    assert server.requests[0][1]["Host"] == f"sim.invalid:{server.port}"


def test_redirects_between_allowed_hosts_are_followed(serve) -> None:
    server = serve({})
    server.routes.update(
        {
            "/a": redirect("/b", 301),
            "/b": redirect(server.url("/c", host="files.sim.test"), 307),
            "/c": body(b"done"),
        }
    )
    with download(
        server.url("/a"),
        allowed_hosts=[*server.allowed, f"files.sim.test:{server.port}"],
        max_bytes=100,
        resolve=resolver({"files.sim.test": ["127.0.0.1"]}),
    ) as result:
        assert result.file.read() == b"done"
        assert result.final_url == server.url("/c", host="files.sim.test")


# --- Policy: refused before any connection ------------------------------------


def test_host_not_allowed_is_refused_without_connecting(serve) -> None:
    server = serve({"/f": body(b"x")})
    with pytest.raises(DownloadRefused, match="not in the allowed hosts") as excinfo:
        download(server.url("/f"), allowed_hosts=["cdn.example.com"], max_bytes=100)
    assert server.accepted == 0
    assert excinfo.value.url == server.url("/f")


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/f", "file:///etc/passwd", "gopher://127.0.0.1/", "//127.0.0.1/f"]
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(DownloadRefused):
        download(url, allowed_hosts=LOCAL, max_bytes=100)


def test_name_allowed_by_domain_entry_but_resolving_to_loopback_is_refused_without_connecting(
    serve,
) -> None:
    server = serve({"/f": body(b"secret")})
    with pytest.raises(DownloadRefused, match=r"^Host files\.example\.com is on a non-public address\.$"):
        download(
            server.url("/f", host="files.example.com"),
            allowed_hosts=[f".example.com:{server.port}"],
            max_bytes=100,
            resolve=resolver({"files.example.com": ["127.0.0.1"]}),
        )
    assert server.accepted == 0


def test_real_localhost_name_under_a_domain_entry_is_refused(serve) -> None:
    # Through the system resolver this time: "localhost" matches ".localhost".
    server = serve({"/f": body(b"secret")})
    with pytest.raises(DownloadRefused, match="non-public"):
        download(server.url("/f", host="localhost"), allowed_hosts=[f".localhost:{server.port}"], max_bytes=100)
    assert server.accepted == 0


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "::7f00:1",  # IPv4-compatible loopback
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "::",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "fe80::1",
        "fd00::1",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused_for_domain_matches(address: str) -> None:
    assert not address_is_public(address)
    with pytest.raises(DownloadRefused, match="non-public"):
        download(
            "https://files.example.com/video.mp4",
            allowed_hosts=[".example.com"],
            max_bytes=100,
            resolve=resolver({"files.example.com": [address]}),
        )


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_are_public(address: str) -> None:
    assert address_is_public(address)


def test_name_resolving_to_public_and_private_addresses_is_refused() -> None:
    # Refused for the private one, without saying which address it was.
    with pytest.raises(DownloadRefused, match=r"^Host files\.example\.com is on a non-public address\.$"):
        download(
            "https://files.example.com/v.mp4",
            allowed_hosts=[".example.com"],
            max_bytes=100,
            resolve=resolver({"files.example.com": ["93.184.216.34", "10.0.0.5"]}),
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://127.0.0.1/",
    ],
)
def test_ip_literals_only_match_exact_entries(url: str) -> None:
    with pytest.raises(DownloadRefused, match="not in the allowed hosts"):
        download(url, allowed_hosts=[".0.0.1", ".254", ".example.com"], max_bytes=100)


def test_redirect_to_disallowed_host_is_refused(serve) -> None:
    target = serve({"/f": body(b"x")})
    server = serve({"/a": redirect(target.url("/f", host="evil.test"))})
    with pytest.raises(DownloadRefused, match=f"evil.test port {target.port} is not in the allowed hosts"):
        download(
            server.url("/a"),
            allowed_hosts=server.allowed,
            max_bytes=100,
            resolve=resolver({"evil.test": ["127.0.0.1"]}),
        )
    assert target.accepted == 0


def test_redirect_to_private_address_of_a_domain_match_is_refused(serve) -> None:
    target = serve({"/f": body(b"x")})
    server = serve({"/a": redirect(target.url("/f", host="internal.example.com"))})
    with pytest.raises(DownloadRefused, match="non-public"):
        download(
            server.url("/a"),
            allowed_hosts=[*server.allowed, f".example.com:{target.port}"],
            max_bytes=100,
            resolve=resolver({"internal.example.com": ["127.0.0.1"]}),
        )
    assert target.accepted == 0


def test_redirect_to_metadata_ip_is_refused(serve) -> None:
    server = serve({"/a": redirect("http://169.254.169.254/latest/meta-data/")})
    with pytest.raises(DownloadRefused):
        download(server.url("/a"), allowed_hosts=server.allowed, max_bytes=100)


def test_too_many_redirects_are_refused(serve) -> None:
    server = serve({"/loop": redirect("/loop")})
    with pytest.raises(DownloadRefused, match="More than 3 redirects"):
        download(server.url("/loop"), allowed_hosts=server.allowed, max_bytes=100, max_redirects=3)
    assert server.accepted == 4  # the original request and three redirects


# --- Limits ------------------------------------------------------------------


def test_content_length_over_cap_is_refused_before_reading_body(
    serve, download_dir: Path
) -> None:
    def announce_then_stall(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10_000_000))
        handler.end_headers()
        handler.server.release.wait(10)  # type: ignore[attr-defined]

    server = serve({"/big": announce_then_stall})
    started = time.monotonic()
    with pytest.raises(DownloadTooLarge, match="announced 10000000 bytes"):
        download(
            server.url("/big"),
            allowed_hosts=server.allowed,
            max_bytes=1000,
            read_timeout=10,
            deadline=10,
            tmp_dir=str(download_dir),
        )
    # Reading the body would have waited for the stalled server.
    assert time.monotonic() - started < 2
    assert list(download_dir.iterdir()) == []


def test_body_growing_past_cap_without_content_length_is_aborted(
    serve, download_dir: Path
) -> None:
    server = serve({"/big": body(os.urandom(1_000_000), length=False)})
    with pytest.raises(DownloadTooLarge, match="more than the 100000 bytes"):
        download(
            server.url("/big"), allowed_hosts=server.allowed, max_bytes=100_000, tmp_dir=str(download_dir)
        )
    assert list(download_dir.iterdir()) == []


def trickle(*, headers_too: bool = False, content_length: bool = True) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        release = handler.server.release  # type: ignore[attr-defined]
        if headers_too:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                handler.wfile.write(bytes([byte]))
                if release.wait(0.05):
                    return
        handler.send_response(200)
        if content_length:
            handler.send_header("Content-Length", "1000")
        else:
            handler.close_connection = True
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x")
            if release.wait(0.05):
                return

    return route


@pytest.mark.parametrize(
    "route",
    [trickle(), trickle(content_length=False), trickle(headers_too=True)],
    ids=["body", "body-without-length", "headers"],
)
def test_trickling_server_is_stopped_by_the_deadline(
    serve, route: Route, download_dir: Path
) -> None:
    server = serve({"/slow": route})
    started = time.monotonic()
    with pytest.raises(DownloadFailed, match="did not finish within 1 s"):
        download(
            server.url("/slow"),
            allowed_hosts=server.allowed,
            max_bytes=10_000,
            read_timeout=5,
            deadline=1,
            tmp_dir=str(download_dir),
        )
    assert time.monotonic() - started < 2
    assert list(download_dir.iterdir()) == []


def test_silent_server_trips_the_read_timeout(serve) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        handler.server.release.wait(10)  # type: ignore[attr-defined]

    server = serve({"/stall": stall})
    with pytest.raises(DownloadFailed, match="Timed out"):
        download(server.url("/stall"), allowed_hosts=server.allowed, max_bytes=100, read_timeout=0.3)


def test_body_cut_short_against_content_length_fails(serve) -> None:
    def cut(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.write(b"x" * 500)
        handler.close_connection = True

    server = serve({"/cut": cut})
    with pytest.raises(DownloadFailed, match="cut short"):
        download(server.url("/cut"), allowed_hosts=server.allowed, max_bytes=10_000)


# --- Status codes and errors ---------------------------------------------------


@pytest.mark.parametrize("code", [401, 403, 404, 410])
def test_expired_link_statuses_raise_download_expired(serve, code: int) -> None:
    server = serve({"/f": status(code)})
    with pytest.raises(DownloadExpired) as excinfo:
        download(server.url("/f?X-Amz-Signature=s3cr3t"), allowed_hosts=server.allowed, max_bytes=100)
    error = excinfo.value
    assert error.status_code == code
    assert error.url == server.url("/f")
    assert "s3cr3t" not in str(error) and "s3cr3t" not in repr(error.args)


@pytest.mark.parametrize("code", [500, 502, 503, 429])
def test_server_errors_raise_download_failed(serve, code: int) -> None:
    server = serve({"/f": status(code)})
    with pytest.raises(DownloadFailed) as excinfo:
        download(server.url("/f"), allowed_hosts=server.allowed, max_bytes=100)
    assert excinfo.value.status_code == code


def test_unexpected_client_error_raises_the_root_error(serve) -> None:
    server = serve({"/f": status(400)})
    with pytest.raises(DownloadError) as excinfo:
        download(server.url("/f"), allowed_hosts=server.allowed, max_bytes=100)
    assert type(excinfo.value) is DownloadError
    assert excinfo.value.status_code == 400


def test_connection_refused_raises_download_failed(serve) -> None:
    server = serve({})
    url = server.url("/f")
    server.shutdown()
    server.server_close()
    with pytest.raises(DownloadFailed, match="refused the connection"):
        download(url, allowed_hosts=server.allowed, max_bytes=100)


def test_unresolvable_host_raises_download_failed() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(DownloadFailed, match="Could not resolve"):
        download(
            "https://gone.example.com/f", allowed_hosts=[".example.com"], max_bytes=1, resolve=fail
        )


def test_errors_never_show_credentials_or_query() -> None:
    assert redact_url("https://user:pw@h.example.com/a/b.mp4?sig=1#frag") == (
        "https://h.example.com/a/b.mp4"
    )
    with pytest.raises(DownloadRefused) as excinfo:
        download("https://user:pw@evil.test/f?token=t0k", allowed_hosts=LOCAL, max_bytes=1)
    assert excinfo.value.url == "https://evil.test/f"
    assert "t0k" not in str(excinfo.value) and "pw" not in str(excinfo.value)


# --- TLS: connect to the checked address, verify the certificate for the name ---


def test_https_verifies_certificate_and_sni_for_the_name_while_pinned(
    serve, tmp_path: Path
) -> None:
    cert_path, key_path = make_certificate(tmp_path, "files.sim.test")
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    def record_sni(sock: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        server_names.append(name)

    context.sni_callback = record_sni  # type: ignore[assignment]
    server = serve({"/f": body(b"over tls")})
    server.socket = context.wrap_socket(server.socket, server_side=True)
    table = {"files.sim.test": ["127.0.0.1"], "other.sim.test": ["127.0.0.1"]}
    allowed = [f"files.sim.test:{server.port}", f"other.sim.test:{server.port}"]

    with download(
        f"https://files.sim.test:{server.port}/f",
        allowed_hosts=allowed,
        max_bytes=100,
        resolve=resolver(table),
        ca_bundle=str(cert_path),
    ) as result:
        assert result.file.read() == b"over tls"
    assert server_names == ["files.sim.test"]

    with pytest.raises(DownloadFailed, match="certificate"):
        download(
            f"https://other.sim.test:{server.port}/f",
            allowed_hosts=allowed,
            max_bytes=100,
            resolve=resolver(table),
            ca_bundle=str(cert_path),
        )


def make_certificate(directory: Path, hostname: str) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --- Allow-list helpers ------------------------------------------------------


def test_parse_allowed_hosts_tolerates_whitespace_case_and_wildcards() -> None:
    value = " CDN.Example.com , *.gmi-serving.com,,.storage.googleapis.com ,127.0.0.1, [::1] "
    assert parse_allowed_hosts(value) == [
        "cdn.example.com",
        ".gmi-serving.com",
        ".storage.googleapis.com",
        "127.0.0.1",
        "::1",
    ]
    assert parse_allowed_hosts("") == []


@pytest.mark.parametrize("value", ["https://cdn.example.com", "cdn.example.com:0", "cdn.example.com:x", "*", "a..b"])
def test_parse_allowed_hosts_rejects_entries_that_are_not_hosts(value: str) -> None:
    with pytest.raises(ValueError):
        parse_allowed_hosts(value)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("cdn.example.com", True),
        ("CDN.EXAMPLE.COM.", True),
        ("a.b.gmi.test", True),
        ("gmi.test", True),
        ("evilgmi.test", False),
        ("gmi.test.evil.com", False),
        ("example.com", False),
        ("127.0.0.1", True),
        ("[::1]", True),
        ("0:0::1", True),
        ("127.0.0.2", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    entries = ["cdn.example.com", ".gmi.test", "127.0.0.1", "::1"]
    assert host_allowed(host, entries) is allowed


def test_entry_with_a_port_allows_that_port_only_with_one_refusal_for_open_and_closed_ports(serve) -> None:
    allowed = serve({"/f": body(b"ok")})
    other = serve({"/f": body(b"internal service")})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with download(allowed.url("/f"), allowed_hosts=allowed.allowed, max_bytes=100) as result:
        assert result.file.read() == b"ok"
    refusals = []
    for port in (other.port, closed_port):
        with pytest.raises(DownloadRefused) as caught:
            download(f"http://127.0.0.1:{port}/f", allowed_hosts=allowed.allowed, max_bytes=100)
        refusals.append(caught.value.message.replace(str(port), "PORT"))
    assert refusals[0] == refusals[1] == "Host 127.0.0.1 port PORT is not in the allowed hosts."
    assert other.accepted == 0


def test_entry_without_a_port_allows_the_default_port_of_the_scheme_only(serve) -> None:
    server = serve({"/f": body(b"internal service")})
    with pytest.raises(DownloadRefused, match="not in the allowed hosts"):
        download(server.url("/f"), allowed_hosts=["127.0.0.1"], max_bytes=100)
    assert server.accepted == 0
    assert host_allowed("127.0.0.1", ["127.0.0.1"], port=80, default_port=80)
    assert not host_allowed("127.0.0.1", ["127.0.0.1"], port=8765, default_port=80)
    assert host_allowed("storage.googleapis.com", ["storage.googleapis.com"], port=443)
    assert not host_allowed("storage.googleapis.com", ["storage.googleapis.com"], port=8443)
    assert host_allowed("a.gmi.test", [".gmi.test:8443"], port=8443)
    assert host_allowed("[::1]", ["[::1]:8765"], port=8765)
    assert not host_allowed("[::1]", ["[::1]:8765"], port=8766)
    assert parse_allowed_hosts("127.0.0.1:8765, [::1]:8765, *.x.test:8443") == [
        "127.0.0.1:8765", "[::1]:8765", ".x.test:8443",
    ]
