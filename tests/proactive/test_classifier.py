"""The classifier slot: an HTTP adapter against a local scoring server (no network), the
benign stand-in, plug-ins by entry point; a score only raises priority and routes to
"likely new", stored with its model and version; it never grades."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from hotline.assess.fetcher import FetchPolicy
from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading.tables import MediaItemRow
from hotline.intake.tables import ReportedUrlRow
from hotline.proactive import classifier, job_handlers
from hotline.proactive.tables import CrawlScoreRow
from tests.proactive.site import Site, SiteConfig, drawn
from tests.proactive.support import confirm, drive, start


class _Scorer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScoringServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.seen.append(
            (self.headers.get("Authorization"), self.headers.get("X-Media-Kind"), len(body))
        )
        answer = self.server.answer
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ScoringServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None, int]] = []
        self.answer: object = {"model": "demo", "version": "2026.1", "scores": {"likely_new": 0.93}}
        super().__init__(("127.0.0.1", 0), _Scorer)

    def server_bind(self) -> None:
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


@pytest.fixture
def scorer() -> Iterator[ScoringServer]:
    server = ScoringServer()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


SCORER_IP = "11.22.33.46"  # a fake public address LoopbackNat dials as the scorer's port


def _route_scorer(scorer: ScoringServer, policy: FetchPolicy) -> str:
    """Resolve scorer.example to its own fake public address, dialled on loopback."""
    policy.network_backend.ports[SCORER_IP] = scorer.server_port  # type: ignore[union-attr]
    policy.resolver.table["scorer.example"] = [SCORER_IP]  # type: ignore[attr-defined]
    return f"http://scorer.example:{scorer.server_port}/score"


def _http(scorer: ScoringServer, policy: FetchPolicy) -> classifier.HttpClassifier:
    return classifier.HttpClassifier(_route_scorer(scorer, policy), "k3y", policy)


def test_the_http_adapter_posts_bytes_with_the_key_and_reads_scores(
    scorer: ScoringServer, policy: FetchPolicy
) -> None:
    http = _http(scorer, policy)
    assert http.classify("image", drawn(1)) == {"likely_new": 0.93}
    assert http.name == "http:demo" and http.version == "2026.1"
    assert scorer.seen == [("Bearer k3y", "image", len(drawn(1)))]
    http.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        [1, 2],
        {"scores": {"x": 1.5}},
        b'{"scores": {"x": NaN}}',
        {"scores": {"x": True}},
        {"scores": {"": 0.5}},
        {"scores": {f"l{i}": 0.1 for i in range(60)}},
        {"scores": "high"},
    ],
)
def test_bad_answers_give_no_score(
    scorer: ScoringServer, policy: FetchPolicy, answer: object
) -> None:
    scorer.answer = (
        answer
        if not isinstance(answer, dict) or "nan" not in str(answer)
        else b'{"scores": {"x": NaN}}'
    )
    http = _http(scorer, policy)
    with pytest.raises(classifier.ClassifierError):
        http.classify("image", drawn(1))
    http.close()


def test_the_stand_in_scores_colour_only_from_0_to_1() -> None:
    stand_in = classifier.StandInClassifier()
    score = stand_in.classify("image", drawn(3))["colourful"]
    assert 0.0 <= score <= 1.0
    with pytest.raises(classifier.ClassifierError):
        stand_in.classify("image", b"not an image")


def test_plugins_are_found_by_entry_point_and_cannot_take_a_builtin_name() -> None:
    points = [
        EntryPoint("mine", "tests.proactive.test_classifier:_plugin", classifier.ENTRY_POINT_GROUP),
        EntryPoint("http", "tests.proactive.test_classifier:_plugin", classifier.ENTRY_POINT_GROUP),
        EntryPoint("broken", "no.such.module:x", classifier.ENTRY_POINT_GROUP),
    ]
    found = classifier.discover(points)
    assert found["mine"] is _plugin and found["http"] is classifier.BUILTIN["http"]
    assert "broken" not in found


def _plugin(settings: Settings, policy: FetchPolicy) -> classifier.Classifier:
    return classifier.StandInClassifier()


@pytest.fixture
def site_config() -> SiteConfig:
    return SiteConfig(pages=3, images_per_page=1, shared_image=False, traps=False)


def test_a_score_raises_priority_and_is_stored_but_never_grades(
    db: Database, settings: Settings, site: Site, policy: FetchPolicy, scorer: ScoringServer
) -> None:
    scored = settings.model_copy(
        update={
            "crawl_classifier": "http",
            "crawl_classifier_url": _route_scorer(scorer, policy),
            "crawl_classifier_key": SecretStr("k3y"),
        }
    )
    job_handlers.forget_classifiers()
    confirm(db, site.url("/p/0"))
    crawl_id = start(db, site.url("/p/0"))
    row = drive(db, scored, policy, crawl_id)
    assert row.likely_new == 3 and len(scorer.seen) == 3
    assert {auth for auth, _kind, _n in scorer.seen} == {"Bearer k3y"}
    with db.read() as session:
        scores = session.execute(select(CrawlScoreRow)).scalars().all()
        assert {(s.model, s.model_version, s.likely_new) for s in scores} == {
            ("http:demo", "2026.1", True)
        }
        priorities = set(session.execute(select(ReportedUrlRow.priority)).scalars())
        assert priorities == {1}  # raised from 0 by the score; known material would be 2
        media = session.execute(select(MediaItemRow)).scalars().all()
        assert {m.status for m in media} == {"awaiting_grades"} and all(
            m.final_grade is None for m in media
        )
    job_handlers.forget_classifiers()
