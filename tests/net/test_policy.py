"""The address policy: what is refused before any connection, and the allow-list syntax."""
from __future__ import annotations

import socket

import pytest

from generations.net.download import download
from generations.net.errors import (
    DownloadRefused,
)
from generations.net.policy import address_is_public, host_allowed, parse_allowed_hosts
from tests.helpers.file_server import LOCAL, body, redirect, resolver

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
