"""The demo's own small benign site and mail catcher, so every flow of `hotline serve --demo`
can be tried offline: capture, hashing, a known match, a notice, a re-check and a removal.

The site serves drawn shapes (Pillow) and a short drawn video (PyAV) on 127.0.0.1, under the
reserved name `config.DEMO_SITE_HOST`, which only a demo instance's fetcher maps to it
(`FetchPolicy.loopback_sites`). `/host` is the pretend host's console: taking a page down
there makes it answer 404, as a host acting on a notice would. The mail catcher takes the
demo's notices by SMTP and shows them at `/mail`. Nothing here is abusive or real: the
"known" image is a drawn shape that the demo's hash list labels, to show auto-grading.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from hotline.config import DEMO_SITE_HOST

MAX_MAIL_BYTES = 1024 * 1024
MAX_MAILS = 200

# Each page: its title, the images it shows, and whether it has the video.
PAGES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "gallery": ("A gallery of shapes", ("circles.png", "squares.png", "stripes.png"), False),
    "known": ("A shape the demo's hash list knows", ("known.png",), False),
    "video": ("A short video of moving shapes", (), True),
    "removable": ("A page the host will take down", ("triangles.png",), False),
}
KNOWN_IMAGE = "known.png"
VIDEO = "clip.mp4"


def _png(draw: Callable[[ImageDraw.ImageDraw], None], background: str) -> bytes:
    image = Image.new("RGB", (320, 240), background)
    draw(ImageDraw.Draw(image))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _circles(d: ImageDraw.ImageDraw) -> None:
    for i in range(6):
        d.ellipse((20 + i * 45, 40 + (i % 2) * 80, 80 + i * 45, 100 + (i % 2) * 80), fill="navy")


def _squares(d: ImageDraw.ImageDraw) -> None:
    for i in range(4):
        for j in range(3):
            if (i + j) % 2 == 0:
                d.rectangle((i * 80, j * 80, i * 80 + 79, j * 80 + 79), fill="darkgreen")


def _stripes(d: ImageDraw.ImageDraw) -> None:
    for i in range(0, 320, 32):
        d.rectangle((i, 0, i + 15, 239), fill="orange")


def _known(d: ImageDraw.ImageDraw) -> None:
    d.ellipse((60, 20, 260, 220), fill="crimson")
    d.rectangle((140, 60, 180, 180), fill="white")


def _triangles(d: ImageDraw.ImageDraw) -> None:
    for i in range(5):
        d.polygon([(i * 64, 220), (i * 64 + 32, 30), (i * 64 + 64, 220)], fill="purple")


def draw_images() -> dict[str, bytes]:
    """The site's images, drawn the same way every time (so the known one's hashes hold)."""
    return {
        "circles.png": _png(_circles, "lightyellow"),
        "squares.png": _png(_squares, "white"),
        "stripes.png": _png(_stripes, "lightblue"),
        KNOWN_IMAGE: _png(_known, "lightgrey"),
        "triangles.png": _png(_triangles, "mintcream"),
    }


def draw_video(frames: int = 48) -> bytes:
    """A two-second MPEG-4 clip of a square crossing a gradient, encoded with PyAV."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width, stream.height, stream.pix_fmt = 160, 128, "yuv420p"
        for n in range(frames):
            image = Image.new("RGB", (160, 128), (40 + n * 3, 90, 160))
            ImageDraw.Draw(image).rectangle((n * 2, 40, n * 2 + 40, 88), fill="yellow")
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class DemoSite:
    """The site on 127.0.0.1:`port` and the mail catcher on 127.0.0.1:`mail_port`."""

    port: int
    mail_port: int
    images: dict[str, bytes] = field(default_factory=draw_images)
    video: bytes = field(default_factory=draw_video)
    removed: set[str] = field(default_factory=set)
    mails: list[Mail] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _http: ThreadingHTTPServer | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _mail_error: OSError | None = None

    @property
    def base_url(self) -> str:
        """What reports name: the reserved name only a demo instance resolves, here."""
        return f"http://{DEMO_SITE_HOST}:{self.port}"

    @property
    def local_url(self) -> str:
        """Where a browser on this machine opens it (the host console, the mail)."""
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, page: str) -> str:
        return f"{self.base_url}/{page}/"

    def take_down(self, page: str) -> None:
        with self._lock:
            self.removed.add(page)

    def is_up(self, page: str) -> bool:
        with self._lock:
            return page not in self.removed

    def start(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True, name="demo-site").start()
        ready = threading.Event()
        threading.Thread(
            target=self._run_mail, args=(ready,), daemon=True, name="demo-mail"
        ).start()
        if not ready.wait(10):
            raise RuntimeError("the demo's mail catcher did not start")
        if self._mail_error is not None:
            self.stop()
            raise self._mail_error

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    # -- the mail catcher: just enough SMTP for smtplib --------------------------------------

    def _run_mail(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                asyncio.start_server(self._smtp, "127.0.0.1", self.mail_port)
            )
        except OSError as exc:
            self._mail_error = exc
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.close()

    async def _smtp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(*lines: str) -> None:
            writer.write("".join(f"{line}\r\n" for line in lines).encode())

        sender, recipients = "", list[str]()
        say("220 demo-mail.example.net hotline demo mail catcher")
        try:
            while raw := await reader.readline():
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb, _, rest = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    say("250-demo-mail.example.net", "250-8BITMIME", "250 SMTPUTF8")
                elif verb == "HELO":
                    say("250 demo-mail.example.net")
                elif verb == "MAIL":
                    sender, recipients = _address(rest), []
                    say("250 OK")
                elif verb == "RCPT":
                    recipients.append(_address(rest))
                    say("250 OK")
                elif verb == "DATA":
                    say("354 end with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    data = await _read_data(reader)
                    if data is None:
                        say("552 message too large")
                    else:
                        self._keep(sender, recipients, data)
                        say("250 OK: caught")
                elif verb in ("RSET", "NOOP"):
                    say("250 OK")
                elif verb == "QUIT":
                    say("221 bye")
                    await writer.drain()
                    break
                else:
                    say("502 not implemented")
                await writer.drain()
        finally:
            writer.close()

    def _keep(self, sender: str, recipients: list[str], data: bytes) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.mails.append(Mail(sender, recipients, message))
            del self.mails[:-MAX_MAILS]


def _address(rest: str) -> str:
    start, end = rest.find("<"), rest.find(">")
    return rest[start + 1 : end] if 0 <= start < end else rest.partition(":")[2].strip()


async def _read_data(reader: asyncio.StreamReader) -> bytes | None:
    lines, size = [], 0
    while True:
        line = await reader.readline()
        if not line or line in (b".\r\n", b".\n"):
            break
        size += len(line)
        if size <= MAX_MAIL_BYTES:
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
    return b"".join(lines) if size <= MAX_MAIL_BYTES else None


# -- the site's pages ------------------------------------------------------------------------


def _document(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><h1>{html.escape(title)}</h1>{body}"
        '<p><a href="/">Demo site home</a></p></body></html>'
    ).encode()


def _index() -> bytes:
    links = "".join(
        f'<li><a href="/{name}/">{html.escape(title)}</a></li>'
        for name, (title, _, _) in PAGES.items()
    )
    return _document(
        "hotline demo site",
        "<p>A small benign site served by <code>hotline serve --demo</code>: drawn shapes "
        "only. Demo reports point at its pages.</p>"
        f"<ul>{links}</ul>"
        '<p><a href="/host">The host\'s console</a> (take a page down, as a host acting on '
        'a notice would) and <a href="/mail">the mail catcher</a> (the notices sent).</p>',
    )


def _page(name: str) -> bytes:
    title, images, video = PAGES[name]
    body = "".join(f'<p><img src="/media/{i}" alt="{i}" width="320"></p>' for i in images)
    if video:
        body += f'<p><video controls width="320" src="/media/{VIDEO}"></video></p>'
    return _document(title, body)


def _host_console(site: DemoSite) -> bytes:
    rows = []
    for name, (title, _, _) in PAGES.items():
        up = site.is_up(name)
        action = (
            f'<form method="post" action="/host/take-down?page={name}">'
            '<button type="submit">Take down</button></form>'
            if up
            else "taken down"
        )
        rows.append(f"<tr><td>/{name}/</td><td>{html.escape(title)}</td><td>{action}</td></tr>")
    return _document(
        "Example Hosting Ltd: abuse desk console (demo)",
        "<table><tr><th>Page</th><th>Title</th><th>State</th></tr>" + "".join(rows) + "</table>",
    )


def _mail_page(site: DemoSite) -> bytes:
    with site._lock:
        mails = list(site.mails)
    items = []
    for mail in reversed(mails):
        body = mail.message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        items.append(
            f"<article><h2>{html.escape(str(mail.message['Subject'] or ''))}</h2>"
            f"<p>From {html.escape(mail.sender)} to {html.escape(', '.join(mail.recipients))}"
            f"</p><pre>{html.escape(str(text))}</pre></article>"
        )
    return _document("Mail catcher (demo)", "".join(items) or "<p>No mail yet.</p>")


def _handler_for(site: DemoSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "demo-site"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the hotline's own log is what matters

        def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            page = path.strip("/")
            if path == "/":
                self._send(200, _index())
            elif page in PAGES and site.is_up(page):
                self._send(200, _page(page))
            elif path == "/host":
                self._send(200, _host_console(site))
            elif path == "/mail":
                self._send(200, _mail_page(site))
            elif path.startswith("/media/") and self._media(path.removeprefix("/media/")):
                pass
            else:
                self._send(404, _document("Not found", "<p>This page is not here.</p>"))

        def _media(self, name: str) -> bool:
            owner = next((p for p, (_, imgs, vid) in PAGES.items() if name in imgs), None)
            if owner is not None and site.is_up(owner):
                self._send(200, site.images[name], "image/png")
                return True
            if name == VIDEO:
                self._send(200, site.video, "video/mp4")
                return True
            return False

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            page = (parse_qs(parts.query).get("page") or [""])[0]
            if parts.path != "/host/take-down" or page not in PAGES:
                self._send(404, _document("Not found", "<p>This page is not here.</p>"))
                return
            site.take_down(page)
            self.send_response(303)
            self.send_header("Location", "/host")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
