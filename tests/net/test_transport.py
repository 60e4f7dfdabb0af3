"""The pinned transport: connect to the checked address, verify TLS for the name."""
from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest

from generations.net.download import download
from generations.net.errors import (
    DownloadFailed,
)
from tests.helpers.file_server import body, resolver

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
