"""The admin API over HTTPS: `caFile` verifies the server, `verifyTls = false` skips it.

Garage's admin API speaks plain HTTP (TLS comes from a reverse proxy in production), so a small
HTTPS reverse proxy with a self-signed certificate stands in front of the test Garage here.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nixops4_protocol.testing import error_of

from tests.garage.conftest import Garage
from tests.support.garage import GarageServer

pytestmark = pytest.mark.garage


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "garage test proxy")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "proxy.crt", directory / "proxy.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def proxy_handler(upstream: str) -> type[http.server.BaseHTTPRequestHandler]:
    """A request handler passing each request on to `upstream` and its answer back."""

    class Forward(http.server.BaseHTTPRequestHandler):
        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            request = urllib.request.Request(  # noqa: S310 - loopback
                upstream + self.path, data=body, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
                    status, payload = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, payload = error.code, error.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = forward  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

    return Forward


@pytest.fixture
def https_endpoint(garage_server: GarageServer, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTPS endpoint in front of the admin API, and the file of its certificate."""
    cert_file, key_file = self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), proxy_handler(garage_server.admin_endpoint)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert_file
    finally:
        server.shutdown()
        server.server_close()


def test_ca_file_and_verification(
    garage: Garage, name: str, https_endpoint: tuple[str, Path]
) -> None:
    """An unknown certificate is refused; with `caFile` or `verifyTls = false` the key is made."""
    endpoint, cert_file = https_endpoint

    def key_inputs(**connection: object) -> dict[str, object]:
        return garage.key_inputs(
            name, connection=garage.server.connection_inputs(adminEndpoint=endpoint, **connection)
        )

    message = error_of(garage.create("key", key_inputs()))
    assert f"cannot reach Garage's admin API at {endpoint}" in message
    assert "CERTIFICATE_VERIFY_FAILED" in message
    assert "connection.caFile" in message
    trusted = garage.created("key", key_inputs(caFile=str(cert_file)))
    assert trusted["name"] == name
    unverified = garage.created("key", key_inputs(verifyTls=False))
    assert unverified["accessKeyId"] == trusted["accessKeyId"]
