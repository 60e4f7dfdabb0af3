"""Streaming downloads within the policy and the limits, against real HTTP servers on 127.0.0.1."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from generations.net.download import download
from generations.net.errors import (
    DownloadError,
    DownloadExpired,
    DownloadFailed,
    DownloadRefused,
    DownloadTooLarge,
    redact_url,
)
from tests.helpers.file_server import LOCAL, Route, body, redirect, resolver, status

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
    started: list[str] = []
    original = threading.Thread.start

    def record(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", record)
    data = os.urandom(200_000)
    server = serve({"/thumb.jpg": body(data, "image/jpeg")})
    download(server.url("/thumb.jpg"), allowed_hosts=server.allowed, max_bytes=len(data)).close()
    started.clear()  # the process's one deadline watchdog may have started with the first download
    for _ in range(5):
        with download(server.url("/thumb.jpg"), allowed_hosts=server.allowed,
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
