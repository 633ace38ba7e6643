"""A bare local web server that records each request line byte for byte (http.server rewrites
some paths), for checking that the fetcher sends the URL as reported. Benign content only."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import httpcore

from tests.assess.conftest import FAKE_PUBLIC_IP, PNG_A

GOOD_IMAGE = "/img/good.png"


class RawSite:
    """`page` (the HTML at /page) may be changed between fetches; `lines` holds every request
    line received. Routes: /page, /img/good.png, /redirect-bad (to a malformed IDNA host),
    /garbage.png (not HTTP at all); anything else answers 200 text/plain."""

    def __init__(self) -> None:
        self.page = "<html><body>nothing</body></html>"
        self.lines: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(32)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                    if not head[:1].isalpha():
                        return  # a TLS handshake (https to this http site): hang up at once
            except OSError:
                return
            line = head.split(b"\r\n", 1)[0]
            self.lines.append(line)
            target = line.split(b" ")[1] if line.count(b" ") == 2 else b"/"
            path = target.split(b"?", 1)[0]
            with contextlib.suppress(OSError):
                conn.sendall(self._response(path))

    def _response(self, path: bytes) -> bytes:
        if path == b"/garbage.png":
            return b"NOT HTTP AT ALL\r\n\r\n"
        headers: dict[str, str] = {}
        status, ctype, body = "200 OK", "text/plain", b"ok"
        if path == b"/page":
            ctype, body = "text/html; charset=utf-8", self.page.encode()
        elif path == GOOD_IMAGE.encode():
            ctype, body = "image/png", PNG_A
        elif path == b"/redirect-bad":
            status, headers = "302 Found", {"Location": "http://xn--a-/y.png"}
        head = f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return (head + "Connection: close\r\n\r\n").encode() + body

    def url(self, target: str) -> str:
        return f"http://site.example:{self.port}{target}"

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)


class OnlyTheSite(httpcore.NetworkBackend):
    """Under the guard: FAKE_PUBLIC_IP dials the raw site; any other (vetted) address is
    recorded and refused as a connect failure, so hostile input never leaves the machine."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dialled: list[str] = []
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.dialled.append(host)
        if host != FAKE_PUBLIC_IP:
            raise httpcore.ConnectError(f"the test network has no {host}")
        return self._inner.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise AssertionError("unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
