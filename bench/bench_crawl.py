"""Benchmark a proactive crawl against a generated benign site on loopback.

    .venv/bin/python bench/bench_crawl.py --pages 2000 --images 5 --workers 2 [--postgres URL]

The site (a process of its own: an asyncio server on 127.0.0.1, keep-alive, every answer
rendered before the run) serves `--pages` HTML pages linked as a binary tree, each showing
`--images` distinct drawn PNGs (coloured shapes) and one logo shared by every page. A
throwaway database (SQLite in a temporary folder, or the PostgreSQL URL given, in its own
schema) gets one confirmed seed URL and, as known material, one graded image in every 100
pages. `--workers` worker processes (`Worker`, kind `crawl`, as `hotline worker --kind crawl`
runs them) crawl it through the production SSRF guard (a resolver maps the site's name to a
fake public address that a network backend dials on 127.0.0.1).

Part 1, politeness off: pages/s and media hashed and matched/s over the whole crawl, requests
the site saw for a path more than once (must be 0: nothing fetched twice), the workers'
resident memory sampled through the run, the workers' CPU and the site's apart, and the
connections the site saw. Part 2, politeness on (`--rate-pages` pages, min delay
`--min-delay`, one request at a time per host, two workers): the highest request rate the
site saw in any window of 1 s, and the smallest gap between two requests, against the limit.
The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import multiprocessing
import os
import resource
import secrets
import socket
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpcore
from PIL import Image, ImageDraw
from sqlalchemy import select, text, update

from hotline import handlers
from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings, load_settings
from hotline.db import migrate
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.hashing import hash_bytes
from hotline.intake import reports
from hotline.intake.tables import ReportedUrlRow
from hotline.jobs.worker import Worker
from hotline.proactive import actions
from hotline.proactive.politeness import Politeness
from hotline.proactive.scope import ScopeRules
from hotline.proactive.tables import CrawlRow
from hotline.security import users
from hotline.security.audit_keys import chain_key_from, use_key
from hotline.security.permissions import Actor

FAKE_IP = "11.22.33.44"
HOST = "bench-site.example"
SECRET = "bench-" + "x" * 42


def drawn(seed: int, size: int = 48) -> bytes:
    image = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 101) % 256, 90))
    pen = ImageDraw.Draw(image)
    for i in range(4):
        x, y = (seed * 11 + i * 23) % size, (seed * 5 + i * 13) % size
        pen.rectangle((x - 6, y - 6, x + 6, y + 6), fill=((i * 60) % 256, (seed * 3) % 256, 200))
    pen.ellipse((seed % 20, 5, seed % 20 + 15, 20), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _response(status: int, body: bytes, ctype: str) -> bytes:
    reason = {200: "OK", 404: "Not Found"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _rendered(pages: int, images: int) -> dict[bytes, bytes]:
    """Every answer the site gives, status line, headers and body, by request target."""
    out = {
        b"/robots.txt": _response(200, b"User-agent: *\nDisallow: /private/\n", "text/plain"),
        b"/img/logo.png": _response(200, drawn(10_000_000), "image/png"),
    }
    for n in range(pages):
        links = "".join(f'<a href="/p/{c}">next</a>' for c in (2 * n + 1, 2 * n + 2) if c < pages)
        imgs = "".join(f'<img src="/img/{n * images + j}.png">' for j in range(images))
        body = f"<html><body>{links}{imgs}<img src='/img/logo.png'></body></html>".encode()
        out[f"/p/{n}".encode()] = _response(200, body, "text/html")
        for j in range(images):
            i = n * images + j
            out[f"/img/{i}.png".encode()] = _response(200, drawn(i), "image/png")
    return out


class _SiteProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive: a GET's target looked up among the rendered answers, sent in
    one write. Requests are logged (time, target) for the checks."""

    connections = 0  # the site's connections in all (the workers keep theirs alive)

    def __init__(self, answers: dict[bytes, bytes], seen: list[tuple[float, str]]) -> None:
        self.answers, self.seen, self.buffer = answers, seen, b""
        self.missing = _response(404, b"no", "text/plain")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _SiteProtocol.connections += 1
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            request, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            target = request.split(b"\r\n", 1)[0].split(b" ")[1]
            self.seen.append((time.monotonic(), target.decode("latin-1")))
            self.transport.write(self.answers.get(target, self.missing))


def _serve(pages: int, images: int, conn: Connection) -> None:
    """The site's own process: renders every answer, serves until told to stop, then sends
    back what it saw."""
    answers = _rendered(pages, images)
    seen: list[tuple[float, str]] = []
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: _SiteProtocol(answers, seen), "127.0.0.1", 0, backlog=128)
    )
    conn.send(server.sockets[0].getsockname()[1])
    stop = asyncio.Event()
    loop.add_reader(conn.fileno(), stop.set)
    loop.run_until_complete(stop.wait())
    server.close()
    conn.send((seen, _SiteProtocol.connections))
    conn.close()


class Site:
    """The benign site in a process of its own (an asyncio server on 127.0.0.1, keep-alive,
    every answer rendered before the run): it must cost the workers' cores little."""

    def __init__(self, pages: int, images: int) -> None:
        self.pages, self.images = pages, images
        self.seen: list[tuple[float, str]] = []
        self.connections = 0
        ours, theirs = multiprocessing.get_context("fork").Pipe()
        self._conn = ours
        self._proc = multiprocessing.get_context("fork").Process(
            target=_serve, args=(pages, images, theirs), daemon=True
        )
        self._proc.start()
        self.server_port: int = ours.recv()

    def shutdown(self) -> None:
        """Stops the site; `seen` then holds every request it answered."""
        self._conn.send("stop")
        self.seen, self.connections = self._conn.recv()
        self._proc.join(10)


class Nat(httpcore.NetworkBackend):
    """Dials 127.0.0.1:port for the fake public address the guard vetted."""

    def __init__(self, port: int) -> None:
        self.port, self._inner = port, httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        assert host == FAKE_IP, host
        return self._inner.connect_tcp("127.0.0.1", self.port, timeout=timeout)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise AssertionError("unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _policy(port: int) -> FetchPolicy:
    return FetchPolicy(resolver=lambda host, _port: [FAKE_IP], network_backend=Nat(port))


def _settings(url: str, data: Path) -> Settings:
    return load_settings(
        mode="development",
        data_dir=data,
        database_url=url,
        secret_key=SECRET,
        job_lease_seconds=120,
        hash_only=True,
    )


def _worker(url: str, data: str, port: int, crawl_id: int, done: Any) -> None:
    settings = _settings(url, Path(data))
    db = Database(url)
    use_key(db, chain_key_from(SECRET.encode()))
    handlers.register()
    worker = Worker(db, settings, {FetchPolicy: _policy(port)}, kinds=frozenset({"crawl"}))
    while not done.is_set():
        if not worker.run_once():
            with db.read() as session:
                row = session.get(CrawlRow, crawl_id)
                if row is None or row.state != "running":
                    break
            time.sleep(0.01)
    db.dispose()


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _seed(db: Database, port: int, pages: int, images: int) -> None:
    with db.write() as session:
        reports.submit(
            session,
            reports.validate({"url": f"http://{HOST}:{port}/p/0"}),
            reports.Source.web,
            None,
        )
        session.execute(update(ReportedUrlRow).values(verdict="criminal"))
        graders = [
            users.create_user(session, f"g{i}", "a long enough password", ["analyst"]).id
            for i in (1, 2)
        ]
        for page in range(0, pages, 100):  # one known image in every 100 pages
            data = drawn(page * images)
            media = service.register_media(
                session,
                url_id=None,
                source_url="https://gallery.example/known.png",
                kind="image",
                hashes=service.MediaHashesIn.of(hash_bytes(data)),
                byte_count=len(data),
                stored=False,
                purge_after=None,
            )
            for g in graders:
                service.submit_grade(
                    session,
                    media.id,
                    g,
                    parse_grade({"category": "C", "age_band": "11-13"}),
                    required=2,
                    qa_share=0,
                )


def _crawl(
    url: str, data: Path, site: Site, *, pages: int, workers: int, polite: Politeness
) -> tuple[float, CrawlRow, list[int]]:
    db = Database(url)
    use_key(db, chain_key_from(SECRET.encode()))
    port = site.server_port
    _seed(db, port, pages, site.images)
    with db.write() as session:
        crawl_id = actions.start_crawl(
            session,
            Actor.operator("bench"),
            f"http://{HOST}:{port}/p/0",
            scope=ScopeRules(max_depth=40, max_pages=pages + 10),
            politeness=polite,
        )
    db.dispose()
    ctx = multiprocessing.get_context("fork")
    done = ctx.Event()
    start = time.perf_counter()
    procs = [
        ctx.Process(target=_worker, args=(url, str(data), port, crawl_id, done))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    rss: list[int] = []
    ticks = 0
    while any(p.is_alive() for p in procs):
        if ticks % 10 == 0:  # memory once a second; the end noticed within 0.1 s
            rss.append(sum(_rss_kib(p.pid or 0) for p in procs))
        ticks += 1
        time.sleep(0.1)
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    db = Database(url)
    with db.read() as session:
        row = session.execute(select(CrawlRow).where(CrawlRow.id == crawl_id)).scalar_one()
    db.dispose()
    return elapsed, row, rss


def _database(postgres: str | None, tmp: str) -> str:
    if not postgres:
        url = f"sqlite:///{tmp}/bench.db"
    else:
        schema = f"bench_crawl_{secrets.token_hex(4)}"
        admin = Database(postgres)
        with admin.write() as session:
            session.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = f"{postgres}?options=-csearch_path%3D{schema}"
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--images", type=int, default=5, help="distinct images a page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate-pages", type=int, default=40)
    parser.add_argument("--min-delay", type=float, default=0.1)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")

    with tempfile.TemporaryDirectory() as tmp:
        site = Site(args.pages, args.images)
        url = _database(args.postgres, tmp)
        elapsed, row, rss = _crawl(
            url,
            Path(tmp),
            site,
            pages=args.pages,
            workers=args.workers,
            polite=Politeness(enabled=False),
        )
        cpu = _children_cpu()  # the workers' (joined); the site's process is still running
        site.shutdown()
        site_cpu = _children_cpu() - cpu
        times = [t for t, _p in site.seen]
        span = max(times) - min(times)
        paths = Counter(p for _t, p in site.seen)
        twice = sum(n - 1 for n in paths.values() if n > 1)
        print(
            f"politeness off, {args.workers} workers: {row.pages} pages and {row.media} media "
            f"({row.known} known, {row.unknown} new) in {elapsed:.1f} s: "
            f"{row.pages / elapsed:.1f} pages/s, {row.media / elapsed:.1f} media hashed+matched/s; "
            f"requests repeated: {twice}; errors: {row.errors}; "
            f"{len(site.seen)} requests on {site.connections} connections"
        )
        print(
            f"  from the site's first request to its last: {span:.1f} s: "
            f"{row.pages / span:.1f} pages/s, "
            f"{row.media / span:.1f} media/s; workers' CPU {cpu:.1f} s in all: "
            f"{cpu / row.pages * 1000:.1f} ms a page, {cpu / max(row.media, 1) * 1000:.2f} ms "
            f"a media item (start included); the site's process {site_cpu:.1f} s"
        )
        third = max(1, len(rss) // 3)
        print(
            "workers' RSS (MiB, summed) first/middle/last third of the run: "
            + " / ".join(
                f"{max(part) / 1024:.0f}"
                for part in (rss[:third], rss[third:-third] or rss, rss[-third:])
                if part
            )
        )

        polite_site = Site(args.rate_pages, 1)
        url = (
            _database(args.postgres, tmp + "/p")
            if args.postgres
            else _database(None, _mk(tmp + "/p"))
        )
        limit = Politeness(enabled=True, max_concurrent=1, min_delay_s=args.min_delay)
        elapsed, row, _rss = _crawl(
            url, Path(tmp), polite_site, pages=args.rate_pages, workers=2, polite=limit
        )
        polite_site.shutdown()
        times = sorted(t for t, _p in polite_site.seen)
        window = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
        gap = min(b - a for a, b in itertools.pairwise(times))
        print(
            f"politeness on (limit {limit.max_rate:.1f} requests/s per host, 2 workers): "
            f"{len(times)} requests in {elapsed:.1f} s; most in any 1 s window: {window}; "
            f"smallest gap {gap * 1000:.0f} ms (limit {args.min_delay * 1000:.0f} ms)"
        )
    print(f"load average at the end: {os.getloadavg()}")


def _children_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _mk(path: str) -> str:
    Path(path).mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
