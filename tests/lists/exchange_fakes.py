"""A loopback HTTP server that answers as NCMEC's hash sharing API, StopNCII's FetchHashes
and ThreatExchange's threat_updates do, in the request and response shapes their published
documentation and python-threatexchange's clients use. Written for these tests from those
shapes; no credentials, no network. Hashes are random hex: they are hashes of nothing.

- NCMEC (`/ncmec/v2/entries?from=&to=`, HTTP basic auth): XML `<queryResult>` with
  `<images>`/`<videos>` (`maxTimestamp`), `<image>`/`<video>` entries (`<id>`, `<member
  id=…>`, `<timestamp>`, `<classification>`, `<fingerprints>`), `<deletedImage>`/
  `<deletedVideo>` tombstones, and `<paging><next>` (a path the client appends to its base)
  while more entries remain in the window. Served in the order stored (not by time).
- StopNCII (`/stopncii/FetchHashes?startTimestamp=&pageSize=&nextPageToken=`, headers
  `x-functions-key` and `Ocp-Apim-Subscription-Key`): JSON `{count, nextPageToken,
  nextSetTimestamp, hasMoreRecords, hashRecords: [{lastModtimestamp, signalType, hashValue,
  hashStatus, caseNumbers, CSPFeedbacks}]}`.
- ThreatExchange (`/te/v26.0/{group}/threat_updates/?access_token=&start_time=&limit=`):
  JSON `{data: [{id, indicator, type, last_updated, should_delete, descriptors: {data:
  [{id, owner: {id}, status, tags, reactions}]}}], paging: {next}}`.

`faults` scripts the next answers: `(path prefix, status, headers, body)`, or a body of
`TRUNCATE` to cut the real answer in half mid-record.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

NCMEC_USER, NCMEC_PASSWORD = "hotline-test", "not-a-real-password"
STOPNCII_FUNCTION_KEY, STOPNCII_SUBSCRIPTION_KEY = "fn-key-test", "sub-key-test"
TE_TOKEN = "1234567890|not-a-real-secret-for-tests"
TRUNCATE = b"<<truncate>>"
NCMEC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def hex_hash(bits: int) -> str:
    return secrets.token_hex(bits // 8)


@dataclass
class NcmecEntry:
    id: str
    member: int
    timestamp: int
    kind: str = "image"  # or "video"
    deleted: bool = False
    md5: str | None = None
    sha1: str | None = None
    pdq: str | None = None
    classification: str = "A1"

    @property
    def key(self) -> str:
        return f"{self.member}-{self.id}"

    def xml(self) -> str:
        when = datetime.fromtimestamp(self.timestamp, UTC).strftime(NCMEC_FORMAT)
        head = f'<id>{escape(self.id)}</id><member id="{self.member}">Example ESP</member>'
        if self.deleted:
            tag = "deletedImage" if self.kind == "image" else "deletedVideo"
            return f"<{tag}>{head}<timestamp>{when}</timestamp></{tag}>"
        prints = "".join(
            f"<{name}>{value}</{name}>"
            for name, value in (("md5", self.md5), ("sha1", self.sha1), ("pdq", self.pdq))
            if value
        )
        return (
            f"<{self.kind}>{head}<timestamp>{when}</timestamp>"
            f"<classification>{self.classification}</classification>"
            f"<fingerprints>{prints}</fingerprints></{self.kind}>"
        )


def ncmec_image(timestamp: int, *, member: int = 42) -> NcmecEntry:
    return NcmecEntry(
        id=secrets.token_hex(6),
        member=member,
        timestamp=timestamp,
        md5=hex_hash(128),
        sha1=hex_hash(160),
        pdq=hex_hash(256),
    )


def stopncii_record(ts: int, *, kind: str = "ImagePDQ", status: str = "Active") -> dict[str, Any]:
    value = hex_hash(256) if kind == "ImagePDQ" else hex_hash(128)
    return {
        "lastModtimestamp": ts,
        "signalType": kind,
        "hashValue": value,
        "hashStatus": status,
        "caseNumbers": {"case-0001": status},
        "CSPFeedbacks": [],
    }


def te_update(ts: int, *, kind: str = "HASH_PDQ", delete: bool = False) -> dict[str, Any]:
    value = hex_hash(256) if kind == "HASH_PDQ" else hex_hash(128)
    return {
        "id": str(secrets.randbelow(10**12)),
        "indicator": value,
        "type": kind,
        "last_updated": ts,
        "should_delete": delete,
        "descriptors": {
            "data": [
                {
                    "id": str(secrets.randbelow(10**12)),
                    "owner": {"id": "555"},
                    "status": "MALICIOUS",
                    "tags": ["hotline-test"],
                    "reactions": [],
                }
            ]
        },
    }


@dataclass
class FakeExchanges:
    ncmec: list[NcmecEntry] = field(default_factory=list)
    ncmec_page: int = 1000
    stopncii: list[dict[str, Any]] = field(default_factory=list)
    stopncii_next_set: int | None = None  # force nextSetTimestamp (a checkpoint from the future)
    te: list[dict[str, Any]] = field(default_factory=list)
    te_page: int = 100
    te_next_host: str | None = None  # a paging link to another server
    faults: list[tuple[str, int, dict[str, str], bytes]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    base: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the exchanges --------------------------------------------------------------------

    def answer(
        self, path: str, query: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/ncmec/v2/entries"):
            expected = base64.b64encode(f"{NCMEC_USER}:{NCMEC_PASSWORD}".encode()).decode()
            if headers.get("Authorization") != f"Basic {expected}":
                return 401, {}, b"<error>unauthorised</error>"
            return 200, {"Content-Type": "application/xml"}, self._ncmec(query)
        if path.startswith("/stopncii/FetchHashes"):
            if (
                headers.get("x-functions-key") != STOPNCII_FUNCTION_KEY
                or headers.get("Ocp-Apim-Subscription-Key") != STOPNCII_SUBSCRIPTION_KEY
            ):
                return 401, {}, b'{"statusCode": 401, "message": "Access denied"}'
            return 200, {"Content-Type": "application/json"}, self._stopncii(query)
        if path.startswith("/te/v26.0/") and path.endswith("/threat_updates/"):
            if query.get("access_token") != TE_TOKEN:
                return (
                    401,
                    {},
                    b'{"error": {"message": "Invalid OAuth access token.", "code": 190}}',
                )
            return 200, {"Content-Type": "application/json"}, self._te(path, query)
        return 404, {}, b"not found"

    def _ncmec(self, query: dict[str, str]) -> bytes:
        # The client writes local time with a Z (hash_api._date_format): read it back as such.
        start = int(datetime.strptime(query["from"], NCMEC_FORMAT).timestamp())
        end = int(datetime.strptime(query["to"], NCMEC_FORMAT).timestamp())
        window = [e for e in self.ncmec if start <= e.timestamp < end]
        offset = int(query.get("start", "0"))
        size = int(query.get("size", str(self.ncmec_page)))
        page = window[offset : offset + size]
        parts = ['<?xml version="1.0" encoding="UTF-8"?>']
        parts.append('<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">')
        for kind in ("image", "video"):
            items = [e for e in page if e.kind == kind]
            if not items:
                continue
            top = max(e.timestamp for e in items)
            when = datetime.fromtimestamp(top, UTC).strftime(NCMEC_FORMAT)
            parts.append(f'<{kind}s count="{len(items)}" maxTimestamp="{when}">')
            parts.extend(e.xml() for e in items)
            parts.append(f"</{kind}s>")
        if offset + size < len(window):
            more = urlencode(
                {
                    "from": query["from"],
                    "to": query["to"],
                    "start": offset + size,
                    "size": size,
                    "max": len(window),
                }
            )
            parts.append(f"<paging><next>/v2/entries?{escape(more)}</next></paging>")
        parts.append("</queryResult>")
        return "".join(parts).encode()

    def _stopncii(self, query: dict[str, str]) -> bytes:
        start = int(query.get("startTimestamp", "0"))
        size = int(query.get("pageSize", "800"))
        offset = int(query.get("nextPageToken") or "0")
        chosen = sorted(
            (r for r in self.stopncii if r["lastModtimestamp"] >= start),
            key=lambda r: r["lastModtimestamp"],
        )
        page = chosen[offset : offset + size]
        more = offset + size < len(chosen)
        next_set = page[-1]["lastModtimestamp"] if page else start
        body = {
            "count": len(page),
            "nextPageToken": str(offset + size) if more else None,
            "nextSetTimestamp": self.stopncii_next_set or next_set,
            "hasMoreRecords": more,
            "hashRecords": page,
        }
        return json.dumps(body).encode()

    def _te(self, path: str, query: dict[str, str]) -> bytes:
        start = int(query.get("start_time") or "0")
        size = min(int(query.get("limit") or self.te_page), self.te_page)
        offset = int(query.get("after", "0"))
        chosen = sorted(
            (u for u in self.te if u["last_updated"] >= start), key=lambda u: u["last_updated"]
        )
        page = chosen[offset : offset + size]
        body: dict[str, Any] = {"data": page}
        if offset + size < len(chosen):
            host = self.te_next_host or self.base
            more = urlencode(
                {
                    "access_token": query["access_token"],
                    "start_time": start,
                    "limit": size,
                    "after": offset + size,
                }
            )
            body["paging"] = {
                "next": f"{host}{path}?{more}",
                "cursors": {"after": str(offset + size)},
            }
        return json.dumps(body).encode()

    # -- faults ---------------------------------------------------------------------------

    def respond(
        self, path: str, query: dict[str, str], headers: Any
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests.append(path + ("?" + urlencode(query) if query else ""))
            fault = next((f for f in self.faults if path.startswith(f[0])), None)
            if fault is not None:
                self.faults.remove(fault)
        status, extra, body = self.answer(path, query, headers)
        if fault is None:
            return status, extra, body
        if fault[3] == TRUNCATE:
            return status, extra, body[: len(body) // 2]
        return fault[1], fault[2], fault[3]


def serve(fakes: FakeExchanges) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, headers, body = fakes.respond(url.path, query, self.headers)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fakes.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fakes.base
    finally:
        server.shutdown()
        server.server_close()
