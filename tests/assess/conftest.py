"""A benign local web site for the fetcher tests, and guards that no test reaches the network.

The site runs on 127.0.0.1. Most tests fetch it as `site.example`, which the injected resolver
answers with FAKE_PUBLIC_IP, a global address that passes the SSRF guard; `LoopbackNat`, the
test's network backend, then dials 127.0.0.1 in its place. So the guard runs exactly as in
production (no allowlist), and FAKE_PUBLIC_IP itself is never dialled.
"""

from __future__ import annotations

import gzip
import io
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpcore
import pytest
from PIL import Image, ImageDraw

from hotline.assess.fetcher import FetchPolicy, SafeFetcher

FAKE_PUBLIC_IP = "11.22.33.44"  # never dialled: LoopbackNat maps it to 127.0.0.1
FAKE_CLOSED_IP = "11.22.33.45"  # mapped to a closed local port
MANY_LINKS = 3000


# -- no network, ever -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def socket_guard(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connect in these tests is recorded; a non-loopback one fails the test."""
    connects: list[Any] = []
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> None:
        connects.append(address)
        host = address[0] if isinstance(address, tuple) else ""
        if host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"test tried a non-loopback connection to {address!r}")
        real_connect(self, address)

    def no_dns(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"test tried a DNS lookup of {host!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo(socket.getaddrinfo))
    monkeypatch.setattr(socket, "gethostbyname", no_dns)
    return connects


def _loopback_only_getaddrinfo(real: Callable[..., Any]) -> Callable[..., Any]:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "::1", None):
            raise AssertionError(f"test tried a DNS lookup of {host!r}")
        return real(host, *args, **kwargs)

    return getaddrinfo


class LoopbackNat(httpcore.NetworkBackend):
    """The test's inner backend: records what the guard asked for and dials 127.0.0.1 instead
    of the fake public addresses. Anything else is a bug in the guard."""

    def __init__(self, port: int, closed_port: int) -> None:
        self.ports = {FAKE_PUBLIC_IP: port, FAKE_CLOSED_IP: closed_port}
        self.calls: list[tuple[str, int]] = []
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.calls.append((host, port))
        if host not in self.ports:
            raise AssertionError(f"the guard let {host}:{port} through")
        return self._inner.connect_tcp("127.0.0.1", self.ports[host], timeout=timeout)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise AssertionError("unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class RecordingResolver:
    """A dict-backed resolver that remembers every question."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


def default_table() -> dict[str, list[str]]:
    return {
        "site.example": [FAKE_PUBLIC_IP],
        "cdn.example": [FAKE_PUBLIC_IP],
        "closed.example": [FAKE_CLOSED_IP],
        "private.example": ["10.0.0.5"],
        "mixed.example": [FAKE_PUBLIC_IP, "10.0.0.5"],
        "mixed6.example": [FAKE_PUBLIC_IP, "fd00::5"],
        "metadata.example": ["169.254.169.254"],
        "mapped.example": ["::ffff:127.0.0.1"],
    }


# -- benign content, drawn here ---------------------------------------------------------------


def draw_image(seed: int, fmt: str = "PNG", size: int = 96) -> bytes:
    """Coloured shapes on a plain background: benign, and different for each seed."""
    image = Image.new("RGB", (size, size), ((seed * 47) % 256, (seed * 91) % 256, 200))
    pen = ImageDraw.Draw(image)
    for i in range(6):
        x, y = (seed * 13 + i * 29) % size, (seed * 7 + i * 17) % size
        pen.ellipse((x - 12, y - 12, x + 12, y + 12), fill=((i * 40) % 256, 255 - i * 30, i * 20))
    pen.rectangle((size // 4, size // 3, size // 2, size // 2), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


PNG_A = draw_image(1)
PNG_B = draw_image(2)
JPEG_C = draw_image(3, "JPEG")
PNG_D = draw_image(4)
CORRUPT_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200)) * 3
BOMB_DECODED = 64 * 1024 * 1024


def _make_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(BOMB_DECODED // len(block))]
    return b"".join(parts) + compressor.flush()


def media_page(base: str) -> str:
    """A page referring to media in every way the extractor knows."""
    return f"""<!doctype html><html><head>
<meta property="og:image" content="/img/og.png">
<meta name="twitter:image" content="{base}/img/d.png">
<title>benign test page</title></head><body>
<img src="/img/a.png" alt="a">
<img srcset="/img/b.png 1x, /img/c.jpg 2x">
<picture><source srcset="/img/d.png"><img src="/img/a.png"></picture>
<video src="/video/broken.mp4" poster="/img/b.png"><source src="/img/missing.png"></video>
<a href="/img/corrupt.png">corrupt</a> <a href="/about.html">not media</a>
<div style="background-image: url('/img/c.jpg')">x</div>
<img src="http://private.example/x.png">
</body></html>"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers.items())))
        path, _, query = self.path.partition("?")
        route = self.server.routes.get(path) or self.server.prefix_route(path)
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        try:
            route(self, parse_qs(query))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream_start(self, ctype: str, headers: dict[str, str] | None = None) -> None:
        """A close-delimited body: no Content-Length."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()


Route = Callable[[_Handler, dict[str, list[str]]], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, Route], ssl_context: ssl.SSLContext | None) -> None:
        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self._ssl = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup for server_name; we need none.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]
        if self._ssl is not None:
            self.socket = self._ssl.wrap_socket(self.socket, server_side=True)

    def prefix_route(self, path: str) -> Route | None:
        for prefix, route in self.routes.items():
            if prefix.endswith("/") and path.startswith(prefix):
                return route
        return None

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early are expected here


def _routes(server_ref: list[_Server]) -> dict[str, Route]:
    bomb: list[bytes] = []

    def page(h: _Handler, q: dict[str, list[str]]) -> None:
        host = h.headers.get("Host", "")
        scheme = "https" if isinstance(h.connection, ssl.SSLSocket) else "http"
        h._send(200, media_page(f"{scheme}://{host}").encode(), "text/html; charset=utf-8")

    images = {
        "/img/a.png": PNG_A,
        "/img/b.png": PNG_B,
        "/img/c.jpg": JPEG_C,
        "/img/d.png": PNG_D,
        "/img/og.png": draw_image(5),
        "/img/corrupt.png": CORRUPT_PNG,
    }

    def img(h: _Handler, q: dict[str, list[str]]) -> None:
        path = h.path.partition("?")[0]
        if path in images:
            ctype = "image/jpeg" if path.endswith(".jpg") else "image/png"
            h._send(200, images[path], ctype)
        elif path.startswith("/img/n"):  # /img/n<k>.png: many distinct small images
            h._send(200, draw_image(int(path[6:-4]) % 50, size=32), "image/png")
        else:
            h._send(404, b"no such image", "text/plain")

    def video(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, b"\x00\x00\x00\x18ftypmp42" + bytes(300), "video/mp4")  # header, no frames

    def redirect(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(302, b"", "text/plain", {"Location": q["to"][0]})

    def chain(h: _Handler, q: dict[str, list[str]]) -> None:
        n = int(h.path.rsplit("/", 1)[1])
        target = "/page" if n == 0 else f"/chain/{n - 1}"
        h._send(301, b"moved", "text/plain", {"Location": target})

    def drip(h: _Handler, q: dict[str, list[str]]) -> None:
        h._stream_start("text/html")
        stop = server_ref[0].stopping
        for _ in range(400):  # at most 20 s, however slow the client is to give up
            if stop.wait(0.05):
                return
            h.wfile.write(b"<")
            h.wfile.flush()

    def drip_headers(h: _Handler, q: dict[str, list[str]]) -> None:
        h.close_connection = True
        stop = server_ref[0].stopping
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: " + b"a" * 400
        for byte in head:
            if stop.wait(0.05):
                return
            h.wfile.write(bytes([byte]))
            h.wfile.flush()

    def huge(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, b"x" * (3 * 1024 * 1024), "text/html")

    def huge_stream(h: _Handler, q: dict[str, list[str]]) -> None:
        h._stream_start("text/html")
        for _ in range(48):
            h.wfile.write(b"y" * 65536)

    def gzip_bomb(h: _Handler, q: dict[str, list[str]]) -> None:
        if not bomb:
            bomb.append(_make_bomb())
        h._send(200, bomb[0], "text/html", {"Content-Encoding": "gzip"})

    def gzip_page(h: _Handler, q: dict[str, list[str]]) -> None:
        body = media_page("").encode()
        h._send(200, gzip.compress(body), "text/html", {"Content-Encoding": "gzip"})

    def deflate_raw(h: _Handler, q: dict[str, list[str]]) -> None:
        c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = c.compress(b"<html>raw deflate</html>") + c.flush()
        h._send(200, body, "text/html", {"Content-Encoding": "deflate"})

    def brotli(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, b"\x0b\x02\x80hello\x03", "text/html", {"Content-Encoding": "br"})

    def many(h: _Handler, q: dict[str, list[str]]) -> None:
        links = "".join(f'<img src="/img/n{i}.png">' for i in range(MANY_LINKS))
        h._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")

    def direct(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, PNG_A, "image/png")

    def octet(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, JPEG_C, "application/octet-stream")

    def text(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(200, b"just some text, nothing to extract", "text/plain")

    def garbage(h: _Handler, q: dict[str, list[str]]) -> None:
        h.close_connection = True
        h.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")

    def cut_short(h: _Handler, q: dict[str, list[str]]) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Type", "image/png")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(PNG_A[:50])

    def missing(h: _Handler, q: dict[str, list[str]]) -> None:
        h._send(404, b"<html>gone</html>", "text/html")

    return {
        "/page": page,
        "/img/": img,
        "/video/": video,
        "/redirect": redirect,
        "/chain/": chain,
        "/drip": drip,
        "/drip-headers": drip_headers,
        "/huge": huge,
        "/huge-stream": huge_stream,
        "/bomb": gzip_bomb,
        "/gzip-page": gzip_page,
        "/deflate-raw": deflate_raw,
        "/brotli": brotli,
        "/many": many,
        "/direct.png": direct,
        "/octet": octet,
        "/text": text,
        "/missing": missing,
        "/garbage": garbage,
        "/cut-short": cut_short,
    }


class BenignSite:
    """The running server: `port`, `requests` seen, and `url(path)` as site.example."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        ref: list[_Server] = []
        self.server = _Server(_routes(ref), ssl_context)
        ref.append(self.server)
        self.port = self.server.server_address[1]
        self.scheme = "https" if ssl_context else "http"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        return self.server.requests

    def url(self, path: str, host: str = "site.example") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site() -> Iterator[BenignSite]:
    server = BenignSite()
    yield server
    server.stop()


@pytest.fixture
def resolver() -> RecordingResolver:
    return RecordingResolver(default_table())


@pytest.fixture
def nat(site: BenignSite) -> LoopbackNat:
    return LoopbackNat(site.port, free_closed_port())


FAST = {"fetch_timeout_s": 5.0, "connect_timeout_s": 2.0, "read_timeout_s": 2.0}


@pytest.fixture
def make_fetcher(
    resolver: RecordingResolver, nat: LoopbackNat
) -> Iterator[Callable[..., SafeFetcher]]:
    """Build fetchers on the production guard (no allowlist) over LoopbackNat; all closed."""
    made: list[SafeFetcher] = []

    def make(**overrides: Any) -> SafeFetcher:
        options: dict[str, Any] = {"resolver": resolver, "network_backend": nat, **FAST}
        options.update(overrides)
        fetcher = SafeFetcher(FetchPolicy(**options))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.fixture
def fetcher(make_fetcher: Callable[..., SafeFetcher]) -> SafeFetcher:
    return make_fetcher()
