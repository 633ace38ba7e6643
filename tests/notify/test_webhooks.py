"""Release webhooks (issue 13.5): a member registers an address, each release is POSTed there
signed (HMAC-SHA256 of timestamp and body), on the durable jobs. Receivers are local servers on
loopback: one that answers, one too slow, one failing, and a name that resolves to a private
address (refused by the SSRF guard, never called)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings, load_settings
from hotline.db.base import utcnow
from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput
from hotline.jobs import queue
from hotline.jobs.tables import JobRow
from hotline.lists import release
from hotline.lists.api import release_root
from hotline.matching import store
from hotline.notify import actions
from hotline.notify.job_handlers import ATTEMPTS
from hotline.notify.tables import WebhookDeliveryRow
from hotline.security.permissions import Actor, Role
from hotline.security.tables import AuditRow
from hotline.takedown.delivery import SIGNATURE_HEADER, verify_webhook
from tests.jobs.drain import drain
from tests.lists.helpers import entries, new_list
from tests.matching.conftest import assert_error_shape, bearer

HOOKS = "hooks.example.net"  # resolves to the loopback receiver
INTERNAL = "internal.example.net"  # resolves to a private address


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(Received(self.path, dict(self.headers), body))
        status, delay = self.server.behaviour.get(self.path, (204, 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    received: list[Received]
    behaviour: dict[str, tuple[int, float]]


@dataclass
class Receiver:
    server: _Receiver
    contacted: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = HOOKS) -> str:
        return f"http://{host}:{self.server.server_address[1]}{path}"

    @property
    def policy(self) -> FetchPolicy:
        """The production guard, with only the loopback receiver let through."""

        def resolve(host: str, port: int) -> list[str]:
            self.contacted.append(host)
            found = {HOOKS: "127.0.0.1", INTERNAL: "10.20.30.40"}.get(host)
            if found is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [found]

        return FetchPolicy(
            resolver=resolve,
            allow_networks=("127.0.0.1/32",),
            connect_timeout_s=1,
            read_timeout_s=1,
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Receiver(("127.0.0.1", 0), _Handler)
    server.received, server.behaviour = [], {}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Receiver(server)
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def quick(settings: Settings) -> Settings:
    """A one-second webhook timeout, so the slow receiver is slow enough."""
    return load_settings(**{**settings.model_dump(), "webhook_timeout_seconds": 1})


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    new_list(db, "alpha", entries(3))
    new_list(db, "beta", entries(1, seed=4))
    with db.write() as session:
        store.create_member(session, "example-platform")
        store.create_member(session, "example-network")
        alpha, _ = store.create_key(session, "example-platform", ["alpha"])
        beta, _ = store.create_key(session, "example-network", ["beta"])
    return {"alpha": alpha.key, "beta": beta.key}


def register(client: TestClient, key: str, url: str) -> dict[str, Any]:
    answer = client.post("/api/v1/webhooks", json={"url": url}, headers=bearer(key))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def deliveries(db: Database) -> list[WebhookDeliveryRow]:
    with db.read() as session:
        query = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)
        return list(session.execute(query).scalars())


def publish(db: Database, settings: Settings, name: str = "alpha") -> None:
    release.publish(db, release_root(settings), name, settings.secret, "test")


def retries_due_now(db: Database) -> None:
    with db.write() as session:
        session.execute(
            update(JobRow)
            .where(JobRow.state == "queued")
            .values(run_at=utcnow() - timedelta(seconds=1))
        )


def test_each_release_is_posted_signed_to_the_members_that_may_read_it(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    hook = register(client, keys["alpha"], receiver.url("/alpha-hook"))
    register(client, keys["beta"], receiver.url("/beta-hook"))
    assert hook["lists"] == ["alpha"] and hook["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhooks", headers=bearer(keys["alpha"])).json()["webhooks"]
    assert [h["url"] for h in listed] == [receiver.url("/alpha-hook")]
    assert "secret" not in listed[0]  # shown once

    publish(db, settings)
    drain(db, settings, receiver.policy)
    assert [r.path for r in receiver.server.received] == ["/alpha-hook"]  # beta's key: not alpha
    sent = receiver.server.received[0]
    body = json.loads(sent.body)
    assert body == {
        "event": "list.released",
        "list": "alpha",
        "version": 1,
        "kind": "full",
        "since": None,
        "release": "/api/v1/lists/alpha/releases/1",
        "delta": None,
    }
    signature = sent.headers[SIGNATURE_HEADER]
    secret = hook["secret"].encode()
    assert verify_webhook(secret, signature, sent.body, int(time.time()))
    assert not verify_webhook(b"another secret", signature, sent.body, int(time.time()))
    assert not verify_webhook(secret, signature, sent.body + b" ", int(time.time()))
    # The paths it names answer the member's key.
    assert client.get(body["release"], headers=bearer(keys["alpha"])).status_code == 200
    [row] = deliveries(db)
    assert (row.state, row.attempts, row.last_error) == ("delivered", 1, None)

    with db.write() as session:
        store.withdraw_entries(session, "alpha", [1], "found wrong")
    publish(db, settings)
    drain(db, settings, receiver.policy)
    second = json.loads(receiver.server.received[-1].body)
    assert (second["version"], second["since"]) == (2, 1)
    assert second["delta"] == "/api/v1/lists/alpha/delta?since=1"
    assert client.get(second["delta"], headers=bearer(keys["alpha"])).status_code == 200
    # Running the jobs again sends nothing twice.
    drain(db, settings, receiver.policy)
    assert len(receiver.server.received) == 2


def test_a_removed_webhook_or_a_revoked_key_hears_nothing(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    hook = register(client, keys["alpha"], receiver.url("/removed"))
    gone = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(keys["alpha"]))
    assert gone.status_code == 204
    again = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(keys["alpha"]))
    assert again.status_code == 404
    assert_error_shape(again.json(), "not_found")
    register(client, keys["alpha"], receiver.url("/revoked"))
    with db.write() as session:
        store.revoke_key(session, keys["alpha"].split("_")[1])
    publish(db, settings)
    drain(db, settings, receiver.policy)
    assert receiver.server.received == [] and deliveries(db) == []


def test_a_slow_receiver_is_retried_with_backoff_then_recorded_failed(
    client: TestClient, keys: dict[str, str], db: Database, quick: Settings, receiver: Receiver
) -> None:
    receiver.server.behaviour["/slow"] = (204, 3.0)  # past the one-second timeout
    register(client, keys["alpha"], receiver.url("/slow"))
    publish(db, quick)
    drain(db, quick, receiver.policy)
    [row] = deliveries(db)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.last_error is not None and "timeout" in row.last_error.lower()
    with db.read() as session:
        job = session.execute(select(JobRow).where(JobRow.kind == "notify.deliver")).scalar_one()
    assert job.state == "queued" and job.run_at > utcnow()  # waiting out its backoff
    for _ in range(ATTEMPTS):
        retries_due_now(db)
        drain(db, quick, receiver.policy)
    [row] = deliveries(db)
    assert (row.state, row.attempts) == ("failed", ATTEMPTS)
    assert len(receiver.server.received) == ATTEMPTS


def test_a_failing_receiver_is_retried_and_a_refusing_one_is_not(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    receiver.server.behaviour["/flaky"] = (503, 0.0)
    receiver.server.behaviour["/gone"] = (410, 0.0)
    register(client, keys["alpha"], receiver.url("/flaky"))
    register(client, keys["alpha"], receiver.url("/gone"))
    publish(db, settings)
    drain(db, settings, receiver.policy)
    flaky, gone = deliveries(db)
    assert (gone.state, gone.attempts) == ("failed", 1)  # a 4xx: retrying cannot help
    assert "410" in (gone.last_error or "")
    assert (flaky.state, flaky.attempts) == ("pending", 1)
    receiver.server.behaviour["/flaky"] = (200, 0.0)  # it recovers
    retries_due_now(db)
    drain(db, settings, receiver.policy)
    flaky, _ = deliveries(db)
    assert (flaky.state, flaky.attempts, flaky.last_error) == ("delivered", 2, None)
    assert [r.path for r in receiver.server.received] == ["/flaky", "/gone", "/flaky"]


def test_an_address_resolving_to_a_private_network_is_refused_and_recorded(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    register(client, keys["alpha"], receiver.url("/internal", host=INTERNAL))
    publish(db, settings)
    drain(db, settings, receiver.policy)
    [internal] = deliveries(db)
    assert (internal.state, internal.attempts) == ("refused", 1)
    assert "blocked_address" in (internal.last_error or "")
    assert INTERNAL in receiver.contacted  # resolved, then refused before connecting
    assert receiver.server.received == []
    with db.read() as session:
        jobs = session.execute(select(JobRow.state).where(JobRow.kind == "notify.deliver"))
        assert set(jobs.scalars()) == {"done"}  # no retries for a refusal


def test_production_policy_refuses_the_loopback_receiver(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    """Without the test's allowance the settings' own guard is used: loopback is private."""
    register(client, keys["alpha"], f"http://127.0.0.1:{receiver.server.server_address[1]}/p")
    publish(db, settings)
    drain(db, settings)
    [row] = deliveries(db)
    assert row.state == "refused" and receiver.server.received == []


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ({"url": "ftp://hooks.example.net/x"}, None, 422, "invalid_input"),
        ({"url": "not an address"}, None, 422, "invalid_input"),
        ({"url": ""}, None, 422, "invalid_input"),
        ({"url": 7}, None, 422, "invalid_input"),
        ({"url": "https://hooks.example.net/" + "x" * 3000}, None, 422, "invalid_input"),
        ({"url": "https://hooks.example.net/", "secret": "mine"}, None, 422, "invalid_input"),
        ({}, None, 422, "invalid_input"),
        (["https://hooks.example.net/"], None, 422, "invalid_input"),
        (b"{url", {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"url=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
        (b"{" + b" " * 9000 + b"}", {"Content-Type": "application/json"}, 413, None),
        ({"url": "https://hooks.example.net/"}, {"Authorization": "Bearer nope"}, 401, None),
    ],
)
def test_bad_registrations_are_refused_in_the_one_shape(
    client: TestClient,
    keys: dict[str, str],
    db: Database,
    body: Any,
    headers: dict[str, str] | None,
    status: int,
    code: str | None,
) -> None:
    sent = {**bearer(keys["alpha"]), **(headers or {})}
    if isinstance(body, bytes):
        answer = client.post("/api/v1/webhooks", content=body, headers=sent)
    else:
        answer = client.post("/api/v1/webhooks", json=body, headers=sent)
    assert answer.status_code == status, answer.text
    assert_error_shape(answer.json(), code or answer.json()["error"]["code"])
    with db.read() as session:
        registered = session.execute(
            select(AuditRow).where(AuditRow.action == "member_webhook.registered")
        ).all()
    assert registered == []


def test_a_member_has_at_most_five_and_sees_only_its_own(
    client: TestClient, keys: dict[str, str], receiver: Receiver
) -> None:
    for n in range(actions.MAX_PER_MEMBER):
        register(client, keys["alpha"], receiver.url(f"/h{n}"))
    over = client.post(
        "/api/v1/webhooks", json={"url": receiver.url("/h9")}, headers=bearer(keys["alpha"])
    )
    assert over.status_code == 409
    assert_error_shape(over.json(), "conflict")
    theirs = client.get("/api/v1/webhooks", headers=bearer(keys["beta"])).json()["webhooks"]
    assert theirs == []
    mine = client.get("/api/v1/webhooks", headers=bearer(keys["alpha"])).json()["webhooks"]
    other = client.delete(f"/api/v1/webhooks/{mine[0]['id']}", headers=bearer(keys["beta"]))
    assert other.status_code == 404  # another member's webhook is not there for this key
    bad = client.delete("/api/v1/webhooks/first", headers=bearer(keys["alpha"]))
    assert bad.status_code == 404
    assert_error_shape(bad.json(), "not_found")


def test_staff_see_and_register_webhooks_with_the_permission(
    keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    admin = Actor(1, "admin1", frozenset({Role.admin}), mfa_passed=True)
    analyst = Actor(2, "analyst1", frozenset({Role.analyst}), mfa_passed=True)
    prefix = keys["alpha"].split("_")[1]
    with db.write() as session:
        _, secret = actions.register_for_key(
            session, admin, prefix, receiver.url("/staff"), settings.secret
        )
        assert secret.startswith("whsec_")
        found = actions.list_webhooks(session, admin)
    assert [(h.member, h.url) for h in found] == [("example-platform", receiver.url("/staff"))]
    with db.write() as session:
        with pytest.raises(Forbidden):
            actions.list_webhooks(session, analyst)
        with pytest.raises(InvalidInput):
            actions.register_for_key(session, admin, prefix, "gopher://x", settings.secret)
    publish(db, settings)
    drain(db, settings, receiver.policy)
    with db.write() as session:
        [sent] = actions.list_deliveries(session, admin)
    assert (sent.member, sent.list, sent.version, sent.state) == (
        "example-platform",
        "alpha",
        1,
        "delivered",
    )


def test_the_documented_verification_accepts_a_real_delivery(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    """docs/lists.md's receiver snippet, run as written against what was actually sent."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "lists.md").read_text()
    snippet = text.split("**Signature.**", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(snippet, scope)  # our own documentation, run as a member would
    hook = register(client, keys["alpha"], receiver.url("/documented"))
    publish(db, settings)
    drain(db, settings, receiver.policy)
    [sent] = receiver.server.received
    verify = scope["verify"]
    assert verify(hook["secret"], sent.headers[SIGNATURE_HEADER], sent.body)
    assert not verify(hook["secret"], sent.headers[SIGNATURE_HEADER], sent.body + b"x")
    assert not verify("whsec_other", sent.headers[SIGNATURE_HEADER], sent.body)


def test_a_fan_out_run_twice_sends_once(
    client: TestClient, keys: dict[str, str], db: Database, settings: Settings, receiver: Receiver
) -> None:
    """A handler may run again (a worker died after its effect): one delivery per release."""
    register(client, keys["alpha"], receiver.url("/once"))
    publish(db, settings)
    drain(db, settings, receiver.policy)
    with db.write() as session:
        queue.enqueue(
            session, "notify.release_fan_out", {"list": "alpha", "version": 1, "since": None}
        )
    drain(db, settings, receiver.policy)
    with db.read() as session:
        states = session.execute(
            select(JobRow.state).where(JobRow.kind == "notify.release_fan_out")
        ).scalars()
        assert list(states) == ["done", "done"]
    assert len(deliveries(db)) == 1 and len(receiver.server.received) == 1
