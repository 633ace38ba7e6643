"""TLS still checks the host name while the socket goes to the vetted address; proxies."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hotline.assess.fetch_errors import FetchError
from hotline.assess.fetcher import SafeFetcher
from tests.assess.conftest import FAKE_PUBLIC_IP, BenignSite, LoopbackNat, free_closed_port

Make = Callable[..., SafeFetcher]


def _self_signed(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BenignSite, bytes, list]]:
    cert_pem, key_pem = _self_signed("site.example")
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(key_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(Path(folder / "cert.pem"), Path(folder / "key.pem"))
    sni_seen: list[str | None] = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni_seen.append(name)
    site = BenignSite(server_ctx)
    yield site, cert_pem, sni_seen
    site.stop()


@pytest.fixture
def tls_fetcher(
    tls_site: tuple[BenignSite, bytes, list], make_fetcher: Make
) -> Iterator[tuple[SafeFetcher, LoopbackNat]]:
    site, cert_pem, _ = tls_site
    nat = LoopbackNat(site.port, free_closed_port())
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode())
    yield make_fetcher(network_backend=nat, ssl_context=client_ctx), nat


def test_tls_uses_the_name_for_sni_and_the_vetted_ip_for_the_socket(
    tls_site: tuple[BenignSite, bytes, list], tls_fetcher: tuple[SafeFetcher, LoopbackNat]
) -> None:
    site, _, sni_seen = tls_site
    fetcher, nat = tls_fetcher
    result = fetcher.fetch(site.url("/page"))
    assert result.status == 200 and result.final_url.startswith("https://site.example:")
    assert sni_seen[-1] == "site.example"
    assert nat.calls == [(FAKE_PUBLIC_IP, site.port)]
    assert result.evidence.resolved_ip == FAKE_PUBLIC_IP


def test_a_certificate_for_another_name_is_a_tls_error(
    tls_site: tuple[BenignSite, bytes, list], tls_fetcher: tuple[SafeFetcher, LoopbackNat]
) -> None:
    site, _, _ = tls_site
    fetcher, _ = tls_fetcher
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/page", host="cdn.example"))  # same IP, certificate mismatch
    assert caught.value.code == "tls_error"


def test_an_untrusted_certificate_is_a_tls_error(
    tls_site: tuple[BenignSite, bytes, list], make_fetcher: Make
) -> None:
    site, _, _ = tls_site
    fetcher = make_fetcher(network_backend=LoopbackNat(site.port, free_closed_port()))
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(site.url("/page"))  # default CAs: the test certificate is not trusted
    assert caught.value.code == "tls_error"


# -- proxy ------------------------------------------------------------------------------------


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)  # an absolute URL: the proxy would fetch it
        body = b"<html>from the proxy</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_ProxyHandler,), {"seen": seen})
    server = _ProxyServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_requests_go_through_the_proxy_after_vetting(
    proxy: tuple[int, list[str]], make_fetcher: Make
) -> None:
    port, seen = proxy
    # The real backend, no allowlist: only the configured proxy endpoint skips vetting.
    fetcher = make_fetcher(network_backend=None, proxy_url=f"http://127.0.0.1:{port}")
    result = fetcher.fetch("http://site.example/page")
    assert result.body == b"<html>from the proxy</html>"
    assert seen[-1] == "http://site.example/page"
    assert result.evidence.via_proxy and result.evidence.resolved_ip == FAKE_PUBLIC_IP


def test_private_targets_are_refused_before_the_proxy_hears_of_them(
    proxy: tuple[int, list[str]], make_fetcher: Make
) -> None:
    port, seen = proxy
    fetcher = make_fetcher(network_backend=None, proxy_url=f"http://127.0.0.1:{port}")
    before = len(seen)
    for url in ("http://private.example/", "http://127.0.0.1/", "http://mixed.example/"):
        with pytest.raises(FetchError) as caught:
            fetcher.fetch(url)
        assert caught.value.code == "blocked_address"
    assert len(seen) == before


def test_only_http_proxies_are_accepted() -> None:
    from hotline.assess.fetcher import FetchPolicy

    with pytest.raises(ValueError):
        FetchPolicy(proxy_url="socks5://127.0.0.1:1080")
