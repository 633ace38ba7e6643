"""A generated benign web site on loopback for crawl tests and the crawl benchmark: pages
that link to each other and to drawn images, plus the traps and hostile answers crawlers
meet (calendars, session ids, query permutations, redirect loops, 429 forever, huge, slow
and compressed-bomb pages, robots.txt that is huge, malformed or slow). Every request is
recorded with its time and Host. Images are coloured shapes drawn with Pillow."""

from __future__ import annotations

import gzip
import io
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from PIL import Image, ImageDraw


def drawn(seed: int, size: int = 48) -> bytes:
    """A small benign PNG, different for each seed."""
    image = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 101) % 256, 90))
    pen = ImageDraw.Draw(image)
    for i in range(4):
        x, y = (seed * 11 + i * 23) % size, (seed * 5 + i * 13) % size
        pen.rectangle((x - 6, y - 6, x + 6, y + 6), fill=((i * 60) % 256, (seed * 3) % 256, 200))
    pen.ellipse((seed % 20, 5, seed % 20 + 15, 20), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class SiteConfig:
    pages: int = 30  # /p/0 ... /p/<pages-1>, a binary tree of links
    images_per_page: int = 2  # /img/<page*k+j>.png
    shared_image: bool = True  # every page also shows /img/logo.png (fetched once per crawl)
    traps: bool = True  # links to the traps below from /p/0
    robots: str = "rules"  # rules, none, huge, malformed, slow, error
    slow_robots_s: float = 15.0
    forever_429: bool = False  # every page answers 429 with Retry-After
    retry_after: str = "1"
    extra: dict[str, tuple[int, str, bytes, dict[str, str]]] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
    # delayed ACK hold every answer back about 40 ms.
    disable_nagle_algorithm = True
    server: SiteServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        host = self.headers.get("Host", "")
        self.server.record(host, self.path, self.headers.get("User-Agent", ""))
        try:
            self.server.answer(self, host)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self.requests: list[tuple[float, str, str, str]] = []  # (time, host, path, agent)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.images: dict[str, bytes] = {"/img/logo.png": drawn(9999)}
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass

    def record(self, host: str, path: str, agent: str) -> None:
        with self._lock:
            self.requests.append((time.monotonic(), host, path, agent))

    def image(self, path: str) -> bytes | None:
        if path in self.images:
            return self.images[path]
        if path.startswith("/img/") and path.endswith(".png") and path[5:-4].isdigit():
            return drawn(int(path[5:-4]))
        return None

    def answer(self, h: _Handler, host: str) -> None:
        cfg = self.config
        path, _, query = h.path.partition("?")
        q = parse_qs(query)
        base = f"http://{host}"
        if h.path in cfg.extra or path in cfg.extra:
            status, ctype, body, headers = cfg.extra.get(h.path) or cfg.extra[path]
            h.send(status, body, ctype, headers)
            return
        if path == "/robots.txt":
            self._robots(h)
            return
        image = self.image(path)
        if image is not None:
            h.send(200, image, "image/png")
            return
        if cfg.forever_429:
            h.send(429, b"slow down", "text/plain", {"Retry-After": cfg.retry_after})
            return
        if path.startswith("/p/"):
            number = path[3:].split(";")[0]
            if number.isdigit() and int(number) < cfg.pages:
                h.send(200, self._page(int(number), base).encode(), "text/html; charset=utf-8")
                return
        if path == "/calendar":  # an endless calendar: every month links to the next
            month = int(q.get("m", ["0"])[0] or 0)
            link = f'<html><body><a href="/calendar?m={month + 1}">next month</a></body></html>'
            h.send(200, link.encode(), "text/html")
            return
        if path.startswith("/deep/"):  # a relative-link loop: /deep/a/a/a/...
            h.send(200, b'<html><body><a href="a/">deeper</a></body></html>', "text/html")
            return
        if path == "/loop-a":
            h.send(302, b"", "text/plain", {"Location": "/loop-b"})
            return
        if path == "/loop-b":
            h.send(302, b"", "text/plain", {"Location": "/loop-a"})
            return
        if path == "/away":
            h.send(
                301, b"", "text/plain", {"Location": f"http://other.example:{self.server_port}/p/1"}
            )
            return
        if path == "/to-tool":
            h.send(
                302, b"", "text/plain", {"Location": f"http://tineye.com:{self.server_port}/search"}
            )
            return
        if path == "/huge":
            h.send(200, b"<html>" + b"x" * (3 * 1024 * 1024), "text/html")
            return
        if path == "/bomb":
            h.send(200, _bomb(), "text/html", {"Content-Encoding": "gzip"})
            return
        if path == "/slow":
            h.close_connection = True
            h.send_response(200)
            h.send_header("Content-Type", "text/html")
            h.end_headers()
            for _ in range(200):
                if self.stopping.wait(0.05):
                    return
                h.wfile.write(b"<")
                h.wfile.flush()
            return
        if path == "/many":
            links = "".join(f'<img src="/img/{100000 + i}.png">' for i in range(3000))
            h.send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
            return
        h.send(404, b"not found", "text/plain")

    def _robots(self, h: _Handler) -> None:
        mode = self.config.robots
        if mode == "rules":
            h.send(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif mode == "none":
            h.send(404, b"none", "text/plain")
        elif mode == "error":
            h.send(503, b"down", "text/plain")
        elif mode == "huge":
            h.send(
                200, b"User-agent: *\nDisallow: /private/\n" + b"# pad\n" * 200_000, "text/plain"
            )
        elif mode == "malformed":
            body = (
                b"\x00\xff garbage line\nDisallow /nope\nUser-agent: *\n:::\nDisallow: /private/\n"
            )
            h.send(200, body, "text/plain")
        elif mode == "slow":
            self.stopping.wait(self.config.slow_robots_s)
            h.send(200, b"User-agent: *\nDisallow:\n", "text/plain")

    def _page(self, n: int, base: str) -> str:
        cfg = self.config
        links = [f"/p/{c}" for c in (2 * n + 1, 2 * n + 2) if c < cfg.pages]
        images = [f"/img/{n * cfg.images_per_page + j}.png" for j in range(cfg.images_per_page)]
        if cfg.shared_image:
            images.append("/img/logo.png")
        extra = ""
        if n == 0 and cfg.traps:
            port = self.server_port
            traps = [
                "/calendar?m=1",
                "/p/1;jsessionid=ABC123",
                "/p/2?sid=77",
                "/p/3?b=2&a=1",
                "/p/3?a=1&b=2",
                "/deep/a/",
                "/loop-a",
                "/away",
                "/to-tool",
                "/private/secret",
                f"http://other.example:{port}/p/4",
                f"http://private.example:{port}/p/5",
                f"http://tineye.com:{port}/search?url={base}/img/0.png",
                f"http://translate.google.com:{port}/translate?u={base}/p/0",
                "mailto:someone@example.org",
                "javascript:void(0)",
            ]
            extra = "".join(f'<a href="{t}">t</a>' for t in traps)
        body = "".join(f'<a href="{u}">page</a>' for u in links)
        body += "".join(f'<img src="{u}" alt="">' for u in images)
        return f"<!doctype html><html><body><h1>Page {n}</h1>{body}{extra}</body></html>"


_BOMB: list[bytes] = []


def _bomb() -> bytes:
    if not _BOMB:
        _BOMB.append(gzip.compress(bytes(64 * 1024 * 1024), 9))
    return _BOMB[0]


class Site:
    """The running site: `port`, `requests`, `url(path, host)`."""

    def __init__(self, config: SiteConfig | None = None) -> None:
        self.server = SiteServer(config or SiteConfig())
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def config(self) -> SiteConfig:
        return self.server.config

    @property
    def requests(self) -> list[tuple[float, str, str, str]]:
        return self.server.requests

    def paths(self, host: str = "site.example") -> list[str]:
        wanted = f"{host}:{self.port}"
        return [p for _t, h, p, _a in self.requests if h == wanted]

    def url(self, path: str, host: str = "site.example") -> str:
        return f"http://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)
