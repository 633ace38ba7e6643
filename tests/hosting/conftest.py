"""A local RDAP server for the host-tracing tests, reached only through the safe fetcher.

The server runs on 127.0.0.1. Tests name it `rdap.example` (and `rir2.example` for the
registry a referral points to); the injected resolver answers FAKE_PUBLIC_IP and LoopbackNat
dials 127.0.0.1 instead, exactly as in tests/assess. The socket guard from there is on for
every test here: nothing may leave the machine. All data is documentation ranges.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from hotline.assess.fetcher import FetchPolicy, SafeFetcher
from tests.assess.conftest import (
    FAKE_PUBLIC_IP,
    LoopbackNat,
    RecordingResolver,
    free_closed_port,
    socket_guard,
)

__all__ = ["socket_guard"]  # the autouse no-network guard, shared with tests/assess

V4_NET = ipaddress.ip_network("192.0.2.0/24")
V6_NET = ipaddress.ip_network("2001:db8::/32")
REFERRED_NET = ipaddress.ip_network("198.51.100.0/24")
# One address per misbehaviour, all in 203.0.113.0/24.
NOT_FOUND, SLOW, MALFORMED, SERVER_ERROR, TWO_REFERRALS = (
    "203.0.113.1",
    "203.0.113.2",
    "203.0.113.3",
    "203.0.113.4",
    "203.0.113.5",
)
WRONG_OBJECT, WRONG_RANGE, DEEP_JSON, TO_LOOPBACK = (
    "203.0.113.6",
    "203.0.113.7",
    "203.0.113.8",
    "203.0.113.9",
)


def vcard(fn: str, email: str | None = None) -> list[Any]:
    props: list[Any] = [["version", {}, "text", "4.0"], ["fn", {}, "text", fn]]
    if email:
        props.append(["email", {"type": "work"}, "text", email])
    return ["vcard", props]


def v4_network() -> dict[str, Any]:
    """RIPE-like: cidr0 prefixes, the abuse contact nested inside the registrant."""
    return {
        "rdapConformance": ["rdap_level_0", "cidr0"],
        "objectClassName": "ip network",
        "handle": "192.0.2.0 - 192.0.2.255",
        "startAddress": "192.0.2.0",
        "endAddress": "192.0.2.255",
        "ipVersion": "v4",
        "name": "EXAMPLE-DOC-NET",
        "type": "ASSIGNED PA",
        "country": "gb",
        "cidr0_cidrs": [{"v4prefix": "192.0.2.0", "length": 24}],
        "entities": [
            {
                "objectClassName": "entity",
                "handle": "ORG-EX1",
                "roles": ["registrant"],
                "vcardArray": vcard("Example Hosting Ltd"),
                "entities": [
                    {
                        "objectClassName": "entity",
                        "handle": "AR-EX1",
                        "roles": ["abuse"],
                        "vcardArray": vcard("Abuse desk", "abuse@hosting.example"),
                    }
                ],
            },
            {
                "objectClassName": "entity",
                "handle": "PERSON-1",
                "roles": ["technical"],
                "vcardArray": vcard("A Person", "person@hosting.example"),
            },
        ],
    }


def v6_network() -> dict[str, Any]:
    """Start and end only, abuse contact at the top, with two addresses (one repeated)."""
    return {
        "rdapConformance": ["rdap_level_0"],
        "objectClassName": "ip network",
        "handle": "EXAMPLE-V6",
        "startAddress": "2001:db8::",
        "endAddress": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "ipVersion": "v6",
        "name": "EXAMPLE-V6-DOC",
        "country": "NL",
        "entities": [
            {
                "objectClassName": "entity",
                "handle": "ABUSE-V6",
                "roles": ["abuse", "technical"],
                "vcardArray": [
                    "vcard",
                    [
                        ["fn", {}, "text", "NOC"],
                        ["email", {}, "text", "noc@v6.example"],
                        ["email", {}, "text", "mailto:Abuse@v6.example"],
                        ["email", {}, "text", "abuse@V6.example"],
                        ["email", {}, "text", "not an address"],
                    ],
                ],
            }
        ],
    }


def referred_network() -> dict[str, Any]:
    """ARIN-like: an origin AS extension, a range that is not one CIDR block."""
    return {
        "rdapConformance": ["rdap_level_0", "arin_originas0"],
        "objectClassName": "ip network",
        "handle": "NET-198-51-100-0-1",
        "startAddress": "198.51.100.0",
        "endAddress": "198.51.100.191",
        "name": "EXAMPLE-REFERRED",
        "country": "CA",
        "arin_originas0_originautnums": [64500],
        "entities": [
            {
                "handle": "EXORG",
                "roles": ["registrant"],
                "vcardArray": vcard("Referred Example Inc."),
            },
            {
                "handle": "EXABUSE",
                "roles": ["abuse"],
                "vcardArray": vcard("Abuse", "abuse@referred.example"),
            },
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RdapServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, data: Any, status: int = 200) -> None:
        self.send(status, json.dumps(data).encode())

    def redirect(self, location: str) -> None:
        self.send(301, b"", {"Location": location})

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        prefix, _, ip_text = self.path.rpartition("/ip/")
        try:
            ip = ipaddress.ip_address(ip_text)
        except ValueError:
            self.send_json({"errorCode": 400, "title": "bad request"}, 400)
            return
        port = self.server.server_address[1]
        if prefix == "/rir2":
            if ip in REFERRED_NET:
                self.send_json(referred_network())
            else:
                self.send_json({"errorCode": 404, "title": "not found"}, 404)
            return
        if prefix == "/hop":
            self.redirect(f"http://rir2.example:{port}/rir2/ip/{ip}")
            return
        if prefix != "/rir1":
            self.send_json({"errorCode": 404}, 404)
            return
        if ip in V4_NET:
            self.send_json(v4_network())
        elif ip in V6_NET:
            self.send_json(v6_network())
        elif ip in REFERRED_NET:
            self.redirect(f"http://rir2.example:{port}/rir2/ip/{ip}")
        elif str(ip) == SLOW:
            self.server.stopping.wait(3)  # longer than the tests' timeout
            self.send_json(v4_network())
        elif str(ip) == MALFORMED:
            self.send(200, b'{"objectClassName": "ip network", "handle": ')
        elif str(ip) == SERVER_ERROR:
            self.send_json({"errorCode": 500}, 500)
        elif str(ip) == TWO_REFERRALS:
            self.redirect(f"/hop/ip/{ip}")
        elif str(ip) == WRONG_OBJECT:
            self.send_json({"objectClassName": "domain", "ldhName": "example.com"})
        elif str(ip) == WRONG_RANGE:
            self.send_json(v4_network())  # 192.0.2.0/24 does not hold 203.0.113.7
        elif str(ip) == DEEP_JSON:
            self.send(200, b"[" * 200_000)
        elif str(ip) == TO_LOOPBACK:
            self.redirect(f"http://127.0.0.1:{port}/rir2/ip/{ip}")
        else:  # NOT_FOUND and everything else
            self.send_json({"errorCode": 404, "title": "not found"}, 404)


class RdapServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup; we need none.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up early (the timeout test) are expected

    def base(self, path: str = "/rir1/", host: str = "rdap.example") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def rdap_server() -> Iterator[RdapServer]:
    server = RdapServer()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def make_rdap_fetcher(rdap_server: RdapServer) -> Iterator[Callable[..., SafeFetcher]]:
    """Fetchers on the production guard (no allowlist) over LoopbackNat, as tests/assess."""
    made: list[SafeFetcher] = []

    def make(**overrides: Any) -> SafeFetcher:
        resolver = RecordingResolver(
            {
                "rdap.example": [FAKE_PUBLIC_IP],
                "rir2.example": [FAKE_PUBLIC_IP],
                "private.example": ["10.0.0.5"],
            }
        )
        options: dict[str, Any] = {
            "resolver": resolver,
            "network_backend": LoopbackNat(rdap_server.port, free_closed_port()),
            "fetch_timeout_s": 5.0,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 2.0,
            **overrides,
        }
        fetcher = SafeFetcher(FetchPolicy(**options))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.fixture
def rdap_fetcher(make_rdap_fetcher: Callable[..., SafeFetcher]) -> SafeFetcher:
    return make_rdap_fetcher()
