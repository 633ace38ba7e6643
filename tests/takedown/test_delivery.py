"""Notice text, and delivery over real SMTP (aiosmtpd on 127.0.0.1) and signed webhooks (a
local http.server), with every failure classified as temporary or permanent."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings, load_settings
from hotline.takedown.delivery import (
    DeliveryError,
    send_email,
    send_webhook,
    sign_webhook,
    verify_webhook,
)
from hotline.takedown.notice_text import NoticeContent, body, email_message, webhook_body

SECRET = b"a-webhook-secret-for-tests"
LOOPBACK = FetchPolicy(allow_networks=("127.0.0.0/8",), connect_timeout_s=2, read_timeout_s=2)
FIRST_SEEN = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)


def content(**over: Any) -> NoticeContent:
    base: dict[str, Any] = {
        "reference": "N-7K3Q-0001",
        "case_reference": "TD-7K3Q",
        "kind": "notice",
        "reminder_number": 0,
        "url": "https://files.example.org/gallery/page?id=42",
        "first_seen_at": FIRST_SEEN,
        "legal_basis": "Protection of Children Act 1978, s.1",
        "category": "B",
        "organisation": "Example Hotline",
        "language": "en",
    }
    base.update(over)
    return NoticeContent(**base)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def base_settings(tmp_path: Path) -> Settings:
    return load_settings(
        mode="development",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        secret_key="test-secret-" + "x" * 40,
        mail_from="notices@hotline.example.org",
        smtp_timeout_seconds=5,
        webhook_timeout_seconds=1,
    )


# -- notice text -----------------------------------------------------------------------------


def test_the_email_carries_the_facts_and_nothing_else() -> None:
    message = email_message(
        content(), sender="notices@hotline.example.org", recipient="abuse@example.net"
    )
    assert message["Subject"].startswith("[TD-7K3Q] Notice of illegal content")
    assert "N-7K3Q-0001" in message["Subject"]
    assert message["Message-ID"].endswith("@hotline.example.org>")
    assert message["To"] == "abuse@example.net" and message["Content-Language"] == "en"
    assert not message.is_multipart()  # no attachment, no image: text only
    text = message.get_content()
    assert "This is a notice under Protection of Children Act 1978, s.1." in text
    assert "https://files.example.org/gallery/page?id=42" in text  # whole, on one line
    assert "2024-05-01T09:30:15Z (UTC)" in text
    assert "B (UK legal classification" in text
    assert "N-7K3Q-0001" in text and "TD-7K3Q" in text
    assert "How to reply" in text and "contains no image and no description" in text


def test_reminders_and_languages() -> None:
    reminder = content(kind="reminder", reminder_number=2, category=None)
    text = body(reminder)
    assert "This is reminder 2 of our notice" in text and "not recorded" in text
    french = email_message(
        content(language="fr"), sender="n@hotline.example.org", recipient="a@example.net"
    )
    assert french["Subject"].startswith("[TD-7K3Q] Signalement de contenu illicite")
    assert "Ceci est un signalement au titre de" in french.get_content()
    assert "Adresse web" in french.get_content() and french["Content-Language"] == "fr"
    german = email_message(
        content(language="de"), sender="n@hotline.example.org", recipient="a@example.net"
    )
    assert german["Content-Language"] == "en" and "This is a notice" in german.get_content()


def test_the_webhook_body_is_json_with_the_same_facts() -> None:
    document = json.loads(webhook_body(content(kind="reminder", reminder_number=1, language="fr")))
    assert document["type"] == "hotline.takedown.reminder"
    assert document["url"] == "https://files.example.org/gallery/page?id=42"
    assert document["first_seen_at"] == "2024-05-01T09:30:15Z"
    assert (document["reference"], document["case_reference"]) == ("N-7K3Q-0001", "TD-7K3Q")
    assert document["category"] == "B" and document["language"] == "fr"
    assert "rappel n° 1" in document["text"] and "Comment répondre" in document["text"]


# -- SMTP ------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class RefuseRecipient(Recorder):
    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return self.reply


class Authenticator:
    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"hotline",
            b"smtp-pass",
        )
        return AuthResult(success=ok, handled=False)  # False: the server answers 535


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    started: list[Controller] = []

    def start(handler: Any, **kwargs: Any) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def smtp_settings(settings: Settings, port: int, **over: Any) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, **over})


def notice() -> EmailMessage:
    return email_message(
        content(), sender="notices@hotline.example.org", recipient="abuse@example.net"
    )


def test_an_email_notice_is_delivered(base_settings: Settings, smtp_server: Any) -> None:
    handler = Recorder()
    port = smtp_server(handler)
    message = notice()
    message_id = send_email(smtp_settings(base_settings, port), message)
    assert message_id == message["Message-ID"]
    [(sender, recipients, raw)] = handler.messages
    assert sender == "notices@hotline.example.org" and recipients == ["abuse@example.net"]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Message-ID"] == message_id
    assert "files.example.org/gallery/page?id=42" in received.get_payload(decode=True).decode()


def test_login_when_a_username_is_set(base_settings: Settings, smtp_server: Any) -> None:
    handler = Recorder()
    port = smtp_server(handler, authenticator=Authenticator(), auth_require_tls=False)
    good = smtp_settings(base_settings, port, smtp_username="hotline")
    good.smtp_password = type(good.smtp_password)("smtp-pass")
    send_email(good, notice())
    assert len(handler.messages) == 1
    bad = good.model_copy(update={"smtp_password": type(good.smtp_password)("wrong")})
    with pytest.raises(DeliveryError) as caught:
        send_email(bad, notice())
    assert not caught.value.temporary and "535" in str(caught.value)
    assert len(handler.messages) == 1


def test_a_refused_recipient_is_permanent(base_settings: Settings, smtp_server: Any) -> None:
    handler = RefuseRecipient("550 5.1.1 mailbox unavailable")
    port = smtp_server(handler)
    with pytest.raises(DeliveryError) as caught:
        send_email(smtp_settings(base_settings, port), notice())
    assert caught.value.temporary is False
    assert "550" in str(caught.value) and "mailbox unavailable" in str(caught.value)
    assert handler.messages == []


def test_a_deferred_recipient_is_temporary(base_settings: Settings, smtp_server: Any) -> None:
    port = smtp_server(RefuseRecipient("451 4.3.0 try again later"))
    with pytest.raises(DeliveryError) as caught:
        send_email(smtp_settings(base_settings, port), notice())
    assert caught.value.temporary is True and "451" in str(caught.value)


def test_smtp_server_down_is_temporary(base_settings: Settings) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_email(smtp_settings(base_settings, free_port()), notice())  # nothing listens
    assert caught.value.temporary is True and "could not talk to 127.0.0.1" in str(caught.value)


def test_no_smtp_server_configured_is_permanent(base_settings: Settings) -> None:
    with pytest.raises(DeliveryError, match="HOTLINE_SMTP_HOST") as caught:
        send_email(base_settings, notice())
    assert caught.value.temporary is False


def test_starttls_asked_of_a_plain_server_is_permanent(
    base_settings: Settings, smtp_server: Any
) -> None:
    port = smtp_server(Recorder())
    with pytest.raises(DeliveryError) as caught:
        send_email(smtp_settings(base_settings, port, smtp_starttls=True), notice())
    assert caught.value.temporary is False and "STARTTLS" in str(caught.value)


# -- webhooks --------------------------------------------------------------------------------


class HookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), HookHandler)
        self.mode = "ok"
        self.received: list[tuple[dict[str, str], bytes, bool]] = []
        self.stop = threading.Event()

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's name; no DNS in tests.
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up early is expected in the timeout test

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"


class HookHandler(BaseHTTPRequestHandler):
    server: HookServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # The receiver's side of the contract: verify before believing anything.
        valid = verify_webhook(
            SECRET, self.headers.get("X-Hotline-Signature", ""), data, int(time.time())
        )
        self.server.received.append((dict(self.headers.items()), data, valid))
        mode = self.server.mode
        if mode == "slow":
            self.server.stop.wait(3)  # longer than the 1-second webhook timeout
        status = {
            "ok": 200 if valid else 401,
            "fail": 500,
            "missing": 404,
            "slow": 200,
            "busy": 429,
            "moved": 301,
        }[mode]
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_a_signed_webhook_is_delivered_and_verified(
    base_settings: Settings, hook: HookServer
) -> None:
    data = webhook_body(content())
    send_webhook(base_settings, LOOPBACK, hook.url(), SECRET, data)
    [(headers, received, valid)] = hook.received
    assert valid and received == data
    assert headers["Content-Type"] == "application/json"
    timestamp = int(headers["X-Hotline-Timestamp"])
    assert abs(timestamp - time.time()) < 60
    expected = hmac.new(SECRET, f"{timestamp}.".encode() + data, hashlib.sha256).hexdigest()
    assert headers["X-Hotline-Signature"] == f"t={timestamp},v1={expected}"


def test_the_signature_covers_the_time(base_settings: Settings, hook: HookServer) -> None:
    old = datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(DeliveryError) as caught:  # the server refuses a stale signature (401)
        send_webhook(base_settings, LOOPBACK, hook.url(), SECRET, b"{}", now=old)
    assert caught.value.temporary is False and "401" in str(caught.value)
    assert hook.received[0][0]["X-Hotline-Timestamp"] == str(int(old.timestamp()))


@pytest.mark.parametrize(
    ("mode", "temporary", "said"),
    [
        ("fail", True, "HTTP 500"),
        ("busy", True, "HTTP 429"),
        ("missing", False, "HTTP 404"),
        ("moved", False, "HTTP 301"),
    ],
)
def test_webhook_answers_are_classified(
    base_settings: Settings, hook: HookServer, mode: str, temporary: bool, said: str
) -> None:
    hook.mode = mode
    with pytest.raises(DeliveryError) as caught:
        send_webhook(base_settings, LOOPBACK, hook.url(), SECRET, b"{}")
    assert caught.value.temporary is temporary and said in str(caught.value)
    assert len(hook.received) == 1


def test_a_webhook_that_times_out_is_temporary(base_settings: Settings, hook: HookServer) -> None:
    hook.mode = "slow"
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        send_webhook(base_settings, LOOPBACK, hook.url(), SECRET, b"{}")
    assert caught.value.temporary is True and "timeout" in str(caught.value)
    assert time.monotonic() - started < 2.5


def test_a_webhook_nobody_listens_on_is_temporary(base_settings: Settings) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_webhook(base_settings, LOOPBACK, f"http://127.0.0.1:{free_port()}/hook", SECRET, b"{}")
    assert caught.value.temporary is True and "connect" in str(caught.value)


def test_a_private_webhook_address_is_refused(base_settings: Settings, hook: HookServer) -> None:
    # The production policy (no test allowlist): loopback is not a public address.
    for url in (hook.url(), f"http://localhost:{hook.server_port}/hook", "http://10.0.0.5/hook"):
        with pytest.raises(DeliveryError) as caught:
            send_webhook(base_settings, FetchPolicy(), url, SECRET, b"{}")
        assert caught.value.temporary is False and "blocked_address" in str(caught.value)
    assert hook.received == []


def test_a_bad_webhook_address_is_permanent(base_settings: Settings) -> None:
    for url in ("ftp://hooks.example.net/x", "https://user:pw@hooks.example.net/x", ""):
        with pytest.raises(DeliveryError) as caught:
            send_webhook(base_settings, LOOPBACK, url, SECRET, b"{}")
        assert caught.value.temporary is False


def test_verify_webhook() -> None:
    data = b'{"reference":"N-1"}'
    now = 1_700_000_000
    header = sign_webhook(SECRET, now, data)
    assert verify_webhook(SECRET, header, data, now)
    assert verify_webhook(SECRET, header, data, now + 300)
    assert not verify_webhook(SECRET, header, data, now + 301)  # stale: a replay
    assert not verify_webhook(SECRET, header, data + b" ", now)
    assert not verify_webhook(b"another-secret-entirely", header, data, now)
    signature = header.partition(",v1=")[2]
    assert verify_webhook(SECRET, f"t={now},v1={'0' * 64},v1={signature}", data, now)  # rotation
    for broken in ("", "garbage", f"v1={signature}", f"t=abc,v1={signature}", f"t={now}"):
        assert not verify_webhook(SECRET, broken, data, now)
    # A timestamp moved forward invalidates the signature.
    assert not verify_webhook(SECRET, f"t={now + 1},v1={signature}", data, now)
