"""The whole assessment flow against a benign local site: report -> fetch -> extract -> hash ->
known item inherits its grade -> two analysts grade a new item and agree -> ready for the hash
list; a disagreement reaches a senior. The site runs on 127.0.0.1 behind the production SSRF
guard: its hostname resolves (in the test) to a public-looking address that the test's network
backend dials on loopback, exactly as the fetcher tests do."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from hotline.assess.fetcher import FetchPolicy
from hotline.assess.hosting_csv import CsvRangeResolver
from hotline.db.engine import Database
from hotline.grading import service
from hotline.grading.model import parse_grade
from hotline.lists import from_grades, release, signing
from hotline.lists import store as lists_store
from hotline.lists.model import ListConfig
from hotline.lists.verify import verify_dir
from hotline.matching import store as match_store
from hotline.security import users
from tests.assess.conftest import FAKE_CLOSED_IP, FAKE_PUBLIC_IP, LoopbackNat, draw_image
from tests.conftest import StaffFactory, csrf_from

KNOWN, NEW, SPLIT = draw_image(1), draw_image(2, "JPEG"), draw_image(3)
PAGE = b"""<!doctype html><html><body><h1>Gallery</h1>
<img src="/img/known.png"><img src="/img/new.jpg" alt="x"><img src="/img/split.png">
<a href="/img/missing.png">broken link</a></body></html>"""


class Site(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, tuple[str, bytes]]] = {
        "/page.html": ("text/html; charset=utf-8", PAGE),
        "/img/known.png": ("image/png", KNOWN),
        "/img/new.jpg": ("image/jpeg", NEW),
        "/img/split.png": ("image/png", SPLIT),
    }

    def do_GET(self) -> None:
        found = self.files.get(self.path)
        if found is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", found[0])
        self.send_header("Content-Length", str(len(found[1])))
        self.end_headers()
        self.wfile.write(found[1])

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def flow_app(app, site: int):  # type: ignore[no-untyped-def]
    app.state.fetch_policy = FetchPolicy(
        resolver=lambda host, port: [FAKE_PUBLIC_IP] if host == "gallery.example" else [],
        network_backend=LoopbackNat(site, site),
    )
    return app


def grade_form(client: TestClient, media_id: int, action: str, **fields: str) -> Any:
    token = csrf_from(client.get(f"/staff/grading/{media_id}").text)
    return client.post(
        f"/staff/grading/{media_id}/{action}",
        data={"csrf_token": token, **fields},
        follow_redirects=False,
    )


def test_report_to_hash_list(
    flow_app, staff: StaffFactory, db: Database, tmp_path, settings
) -> None:  # type: ignore[no-untyped-def]
    # Earlier work: the "known" image was graded and agreed, so it is known material.
    with db.write() as session:
        g1 = users.create_user(session, "earlier1", "a long enough password", ["analyst"])
        g2 = users.create_user(session, "earlier2", "a long enough password", ["analyst"])
        from hotline.hashing import hash_bytes

        h = hash_bytes(KNOWN)
        known = service.register_media(
            session,
            url_id=None,
            source_url="https://elsewhere.example/k.png",
            kind="image",
            hashes=service.MediaHashesIn.of(h),
            byte_count=len(KNOWN),
            stored=False,
            purge_after=None,
        )
        for grader in (g1, g2):
            service.submit_grade(
                session,
                known.id,
                grader.id,
                parse_grade({"category": "C", "age_band": "11-13"}),
                required=2,
                qa_share=0,
            )

    with (
        TestClient(flow_app) as public,
        TestClient(flow_app) as ana,
        TestClient(flow_app) as ben,
        TestClient(flow_app) as senior,
    ):
        reference = public.post(
            "/api/v1/reports", json={"url": "http://gallery.example/page.html"}
        ).json()["reference"]
        staff.login(ana, ["analyst"])
        staff.login(ben, ["analyst"])
        staff.login(senior, ["senior_analyst"])

        ranges = tmp_path / "ranges.csv"
        ranges.write_text(
            "cidr,asn,organisation,country,abuse_email\n"
            f"{FAKE_PUBLIC_IP}/32,64500,Example Hosting Ltd,NL,abuse@hosting.example\n"
        )
        flow_app.state.host_resolvers = [CsvRangeResolver(ranges)]
        token = csrf_from(ana.get("/staff/queue").text)
        case_url = ana.post(
            "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
        ).headers["location"]
        captured = ana.post(
            f"{case_url}/capture", data={"csrf_token": token}, follow_redirects=False
        )
        assert captured.status_code == 303
        url_id = int(case_url.rsplit("/", 1)[1])
        with db.read() as session:
            items = {
                i.source_url.rsplit("/", 1)[1]: i for i in service.items_for_url(session, url_id)
            }
        assert set(items) == {"known.png", "new.jpg", "split.png"}  # missing.png failed: 404
        assert items["known.png"].status is service.MediaStatus.known_match
        assert items["known.png"].final_grade is not None
        assert not items["known.png"].stored  # known material is never kept to be shown
        assert items["new.jpg"].status is service.MediaStatus.awaiting_grades
        case = ana.get(case_url).text
        assert "1 failed" in case and "2 new" in case and "1 known" in case
        # The host was traced from the address the page was fetched from.
        assert "Example Hosting Ltd" in case and "abuse@hosting.example" in case
        with db.read() as session:
            from hotline.assess import queue

            assert queue.get_case(session, url_id).entry.priority == 2  # known-match hint

        # Known material is never displayed.
        assert ana.get(f"/staff/media/{items['known.png'].id}/thumb").status_code == 403

        new_id, split_id = items["new.jpg"].id, items["split.png"].id
        # Ana grades first; Ben sees no other grade before his own is in.
        assert (
            grade_form(ana, new_id, "grade", category="B", age_band="7-10", sex="girls").status_code
            == 303
        )
        assert 'id="grades"' not in ben.get(f"/staff/grading/{new_id}").text
        assert (
            grade_form(ana, new_id, "grade", category="B", age_band="7-10").status_code == 409
        )  # twice is refused
        assert grade_form(ben, new_id, "grade", category="B", age_band="3-6").status_code == 303
        page = ben.get(f"/staff/grading/{new_id}").text
        assert 'id="grades"' in page and "Agreed" in page
        assert "INTERPOL baseline" in page  # derived jurisdictions shown beside the grade

        # A disagreement goes to a senior.
        grade_form(ana, split_id, "grade", category="A", age_band="11-13")
        grade_form(ben, split_id, "grade", category="C", age_band="11-13")
        review = senior.get("/staff/grading/disagreements").text
        assert f"/staff/grading/{split_id}" in review
        assert (
            grade_form(ana, split_id, "resolve", category="A", age_band="11-13").status_code == 403
        )  # not a senior
        assert (
            grade_form(senior, split_id, "resolve", category="C", age_band="11-13").status_code
            == 303
        )

        with db.read() as session:
            ready = {i.id: i for i in service.ready_for_hash_list(session)}
            assert new_id in ready and split_id in ready
            assert ready[new_id].final_grade.age_band.value == "3-6"  # the youngest band
            assert ready[split_id].status is service.MediaStatus.resolved
            agreement = {a.grader: a for a in service.grader_agreement(session)}
        assert len(agreement) == 4  # the two earlier graders, Ana and Ben
        assert public.get(f"/api/v1/reports/{reference}").json()["status"] == "in_assessment"

    # The verified items become a signed hash list release (issue #6).
    with db.write() as session:
        match_store.create_list(session, "hotline-hashes")
        lists_store.set_config(
            session, "hotline-hashes", ListConfig.parse({"fields": ["age_band", "sex"]})
        )
        synced = from_grades.sync(session, "hotline-hashes")
    assert synced.added == 3  # the earlier known image, the agreed one and the resolved one
    with db.write() as session:
        assert from_grades.sync(session, "hotline-hashes").added == 0  # each item joins once
    made = release.publish(db, tmp_path / "releases", "hotline-hashes", settings.secret, "test")
    with db.read() as session:
        verify_dir(made.path, signing.keyring(session))
    lines = [json.loads(x) for x in (made.path / "entries.jsonl").read_text().splitlines()[1:]]
    by_pdq = {line.get("pdq"): line for line in lines}
    agreed = by_pdq[items["new.jpg"].pdq]
    assert agreed["category"] == "B" and agreed["metadata"] == {"age_band": "3-6", "sex": "girls"}
    assert agreed["jurisdictions"]["us_vics"] == "1"
    assert by_pdq[items["split.png"].pdq]["category"] == "C"
    assert all("url" not in line and "source_url" not in line for line in lines)


def test_capture_of_an_unreachable_page_is_recorded(flow_app, login_as, db: Database) -> None:  # type: ignore[no-untyped-def]
    flow_app.state.fetch_policy = FetchPolicy(
        resolver=lambda host, port: [FAKE_CLOSED_IP],
        network_backend=LoopbackNat(1, 1),
        fetch_timeout_s=3,
        connect_timeout_s=1,
    )
    client = login_as(["analyst"])
    client.post("/api/v1/reports", json={"url": "http://gone.example/x"})
    token = csrf_from(client.get("/staff/queue").text)
    case_url = client.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    assert (
        client.post(
            f"{case_url}/capture", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert "Connection failed" in client.get(case_url).text


def test_capture_needs_a_claim(flow_app, login_as) -> None:  # type: ignore[no-untyped-def]
    client = login_as(["analyst"])
    client.post("/api/v1/reports", json={"url": "http://gallery.example/page.html"})
    token = csrf_from(client.get("/staff/queue").text)
    assert client.post("/staff/queue/1/capture", data={"csrf_token": token}).status_code == 409
