"""The demo's own benign site, offline, on both databases: the demo's reports name its pages;
an analyst captures them (drawn images hashed, a known shape auto-graded from the demo's
hash list, a video hashed frame by frame) without DNS or the internet; a verdict opens a
takedown case traced to the demo host, the notice reaches the demo's mail catcher, the
pretend host takes the page down, and a re-check records the removal.

The allowance is a demo instance's only: any other instance's fetcher refuses the same
site, and even a demo's refuses every other local address and port (tested here too)."""

from __future__ import annotations

import dataclasses
import json
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from hotline import demo
from hotline.assess.fetch_errors import BlockedAddress
from hotline.assess.fetcher import FetchPolicy, SafeFetcher, fetch_policy_from
from hotline.config import DEMO_SITE_HOST, Settings, load_settings
from hotline.db.engine import Database
from hotline.demo_site import KNOWN_IMAGE, DemoSite
from hotline.grading import actions as grading_actions
from hotline.grading.consensus import Outcome
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.security import users
from hotline.security.permissions import Actor
from hotline.takedown.tables import TakedownCaseRow
from hotline.web.app import create_app
from tests.conftest import TEST_SECRET, StaffFactory, csrf_from, free_port
from tests.jobs.drain import drain


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"the demo looked up {host!r} in DNS")


@dataclass
class Demo:
    settings: Settings
    site: DemoSite
    app: FastAPI
    db: Database
    policy: FetchPolicy

    def url_id(self, page: str) -> int:
        with self.db.read() as session:
            return session.scalars(
                select(ReportedUrlRow.id).where(
                    ReportedUrlRow.normalized_url == f"{self.site.base_url}/{page}/"
                )
            ).one()

    def run_jobs(self) -> int:
        return drain(self.db, self.settings, self.policy)


def demo_settings_for(db: Database, data_dir: Path, **overrides: object) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return load_settings(
        mode="demo",
        data_dir=data_dir,
        database_url=db.url,
        secret_key=TEST_SECRET,
        require_2fa=True,
        port=free_port(),
        demo_site_port=free_port(),
        demo_mail_port=free_port(),
        **overrides,
    )


@pytest.fixture
def demo_instance(db: Database, tmp_path: Path) -> Iterator[Demo]:
    settings = demo.demo_settings(demo_settings_for(db, tmp_path / "data"))
    assert settings.demo_site is not None
    site = DemoSite(settings.demo_site[1], settings.smtp_port)
    site.start()
    # The settings' own policy, with DNS taken away: the demo site needs none.
    policy = dataclasses.replace(fetch_policy_from(settings), resolver=no_dns)
    app = create_app(settings, db)
    app.state.fetch_policy = policy
    assert demo.seed_reports(db, site.base_url) == len(demo.SAMPLE_PAGES)
    assert demo.seed_known(db, site.images[KNOWN_IMAGE]) == 1
    demo.seed_takedown(db, settings)  # the host directory the demo host is traced to
    try:
        yield Demo(settings, site, app, db, policy)
    finally:
        site.stop()


def claim_and_capture(client: TestClient, url_id: int) -> None:
    token = csrf_from(client.get("/staff/queue").text)
    claimed = client.post(
        f"/staff/queue/{url_id}/claim", data={"csrf_token": token}, follow_redirects=False
    )
    assert claimed.status_code == 303, claimed.text
    captured = client.post(f"/staff/queue/{url_id}/capture", data={"csrf_token": token})
    assert captured.status_code == 200, captured.text


def media_of(db: Database, url_id: int) -> list[MediaItemRow]:
    with db.read() as session:
        return list(session.scalars(select(MediaItemRow).where(MediaItemRow.url_id == url_id)))


def test_every_flow_on_the_demo_site_offline(
    demo_instance: Demo, db: Database, settings: Settings
) -> None:
    d = demo_instance
    staff = StaffFactory(db, d.settings)
    with TestClient(d.app) as analyst, TestClient(d.app) as officer:
        staff.login(analyst, ["analyst"])
        staff.login(officer, ["takedown_officer"])

        # Capture and hashing: three drawn images, each new, waiting for two grades.
        gallery = d.url_id("gallery")
        claim_and_capture(analyst, gallery)
        items = media_of(db, gallery)
        assert sorted(i.source_url.rsplit("/", 1)[1] for i in items) == [
            "circles.png",
            "squares.png",
            "stripes.png",
        ]
        assert all(i.pdq and i.status != "known_match" for i in items)
        assert "Example Hosting Ltd" in analyst.get(f"/staff/queue/{gallery}").text  # traced

        # Two-person grading with the demo's own accounts: the analyst and a senior disagree,
        # the other senior resolves it.
        people = demo_people(db, d.settings)
        first = items[0].id
        assert grade(db, people["analyst"], first, "A") is Outcome.waiting
        assert grade(db, people["senior"], first, "C") is Outcome.disagreement
        with db.write() as session:
            grading_actions.resolve(
                session, people["senior2"], first, {"category": "B", "age_band": "7-10"}
            )
        with db.read() as session:
            resolved = session.get(MediaItemRow, first)
            assert resolved is not None and resolved.final_grade is not None
            assert json.loads(resolved.final_grade)["category"] == "B"

        # A known match: the demo's hash list knows this shape, so capture grades it.
        known = d.url_id("known")
        claim_and_capture(analyst, known)
        (item,) = media_of(db, known)
        assert item.status == "known_match" and item.final_grade is not None
        assert json.loads(item.final_grade)["category"] == demo.DEMO_KNOWN_CATEGORY

        # A video, hashed frame by frame.
        video = d.url_id("video")
        claim_and_capture(analyst, video)
        (clip,) = media_of(db, video)
        assert clip.kind == "video" and clip.vpdq

        # A verdict opens a takedown case, traced to the demo host; the notice goes to the
        # demo's mail catcher; the host takes the page down; a re-check records it.
        removable = d.url_id("removable")
        claim_and_capture(analyst, removable)
        token = csrf_from(analyst.get(f"/staff/queue/{removable}").text)
        verdict = analyst.post(
            f"/staff/queue/{removable}/verdict",
            data={"csrf_token": token, "decision": "criminal/indecent_images"},
            follow_redirects=False,
        )
        assert verdict.status_code == 303, verdict.text
        d.run_jobs()
        case = case_for(db, removable)
        assert (case.state, case.host_name) == ("proposed", "Example Hosting Ltd")
        page = officer.get(f"/staff/takedown/{case.id}").text
        confirmed = officer.post(
            f"/staff/takedown/{case.id}/confirm",
            data={"csrf_token": csrf_from(page), "provider_id": str(case.provider_id)},
            follow_redirects=False,
        )
        assert confirmed.status_code == 303, confirmed.text
        d.run_jobs()
        (mail,) = d.site.mails
        assert mail.recipients == ["abuse@hosting.example"]
        assert d.site.page_url("removable") in mail.message.get_body().get_content()
        caught = httpx.get(f"{d.site.local_url}/mail").text
        assert case.reference in caught

        assert httpx.get(f"{d.site.local_url}/removable/").status_code == 200
        taken = httpx.post(f"{d.site.local_url}/host/take-down?page=removable")
        assert taken.status_code == 303
        assert httpx.get(f"{d.site.local_url}/removable/").status_code == 404
        page = officer.get(f"/staff/takedown/{case.id}").text
        checked = officer.post(
            f"/staff/takedown/{case.id}/check",
            data={"csrf_token": csrf_from(page)},
            follow_redirects=False,
        )
        assert checked.status_code == 303, checked.text
        d.run_jobs()
        case = case_for(db, removable)
        assert case.state == "removed" and case.removed_at is not None


def demo_people(db: Database, settings: Settings) -> dict[str, Actor]:
    accounts = demo.seed_accounts(db, settings)
    with db.read() as session:
        return {
            a.username: users.get_user(session, a.username).actor(mfa_passed=True) for a in accounts
        }


def grade(db: Database, actor: Actor, media_id: int, category: str) -> Outcome:
    with db.write() as session:
        return grading_actions.submit_grade(
            session,
            actor,
            media_id,
            {"category": category, "age_band": "7-10"},
            required=2,
            qa_share=0,
        ).outcome


def case_for(db: Database, url_id: int) -> TakedownCaseRow:
    with db.read() as session:
        return session.scalars(
            select(TakedownCaseRow).where(TakedownCaseRow.url_id == url_id)
        ).one()


def fetch(policy: FetchPolicy, url: str) -> int:
    with SafeFetcher(policy) as fetcher:
        return fetcher.fetch(url).evidence.status


def test_only_a_demo_instance_fetches_its_site_and_nothing_else_local(
    db: Database, tmp_path: Path
) -> None:
    settings = demo_settings_for(db, tmp_path / "demo")
    assert settings.demo_site is not None
    port = settings.demo_site[1]
    site = DemoSite(port, settings.demo_mail_port)
    site.start()
    to_loopback = lambda host, p: ["127.0.0.1"]  # noqa: E731  # a resolver that would let it in
    try:
        policy = fetch_policy_from(settings)
        assert policy.loopback_sites == ((DEMO_SITE_HOST, port),)
        assert fetch(dataclasses.replace(policy, resolver=no_dns), f"{site.base_url}/") == 200

        # Even a demo refuses any other local address: another port under the same name,
        # the site's own port by address or as localhost, a name that resolves to loopback.
        guarded = dataclasses.replace(policy, resolver=to_loopback)
        for url in (
            f"http://{DEMO_SITE_HOST}:{free_port()}/",
            f"http://127.0.0.1:{port}/",
            f"http://localhost:{port}/",
            f"http://other.example.net:{port}/",
        ):
            with pytest.raises(BlockedAddress):
                fetch(guarded, url)

        # Every other instance refuses the demo site, whatever its name resolves to.
        for mode in ("production", "development"):
            other = settings.model_copy(update={"mode": mode})
            assert other.demo_site is None
            policy = dataclasses.replace(fetch_policy_from(other), resolver=to_loopback)
            assert policy.loopback_sites == ()
            with pytest.raises(BlockedAddress):
                fetch(policy, f"{site.base_url}/")
        # Through a proxy the name would be resolved there: no local site then.
        proxied = settings.model_copy(
            update={"fetch_proxy": SecretStr("http://proxy.example.net:3128")}
        )
        assert fetch_policy_from(proxied).loopback_sites == ()
    finally:
        site.stop()


def test_the_mail_catcher_keeps_what_it_is_sent(tmp_path: Path) -> None:
    site = DemoSite(free_port(), free_port())
    site.start()
    try:
        message = EmailMessage()
        message["From"], message["To"] = "notices@hotline.example.org", "abuse@hosting.example"
        message["Subject"] = "Notice TD-1"
        message.set_content("..leading dots survive\nsecond line")
        with smtplib.SMTP("127.0.0.1", site.mail_port, timeout=10) as smtp:
            smtp.send_message(message)
        (mail,) = site.mails
        assert mail.sender == "notices@hotline.example.org"
        assert mail.recipients == ["abuse@hosting.example"]
        assert mail.message.get_body().get_content().startswith("..leading dots survive")
        assert "Notice TD-1" in httpx.get(f"{site.local_url}/mail").text
    finally:
        site.stop()


def test_a_taken_port_is_an_error_not_a_hang() -> None:
    first = DemoSite(free_port(), free_port())
    first.start()
    try:
        with pytest.raises(OSError):
            DemoSite(free_port(), first.mail_port).start()
        with pytest.raises(OSError):
            DemoSite(first.port, free_port()).start()
    finally:
        first.stop()
