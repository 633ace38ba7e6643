"""The grading pages: the QA sample reaches the review page, reveals and grades are audited,
and the hourly break prompt appears when due (and goes once a break is recorded)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading import pages, service
from hotline.security.tables import AuditRow
from tests.assess.conftest import draw_image
from tests.conftest import StaffFactory, csrf_from
from tests.grading.helpers import store_media


def stored_item(app: FastAPI, db: Database, seed: int) -> int:
    return store_media(app, db, draw_image(seed), "image", name=str(seed))


def post(client: TestClient, path: str, **fields: str) -> Any:
    token = csrf_from(client.get("/staff/wellbeing").text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_a_qa_share_of_one_samples_every_agreed_item(
    app: FastAPI,
    staff: StaffFactory,
    db: Database,
    settings: Settings,
) -> None:
    settings.qa_sample_share = 1.0
    first, second = stored_item(app, db, 21), stored_item(app, db, 22)
    with TestClient(app) as ana, TestClient(app) as ben, TestClient(app) as senior:
        staff.login(ana, ["analyst"])
        staff.login(ben, ["analyst"])
        staff.login(senior, ["senior_analyst"])
        for item, category in ((first, "C"), (second, "B")):
            for grader in (ana, ben):
                graded = post(
                    grader, f"/staff/grading/{item}/grade", category=category, age_band="14-15"
                )
                assert graded.status_code == 303
        review = senior.get("/staff/grading/disagreements")
        french = senior.get("/staff/grading/disagreements?lang=fr").text
    assert review.status_code == 200
    # Each grader matched both final grades (two categories): kappa 1, with the reader's
    # decimal separator.
    assert review.text.count("<td>2</td><td>1.00</td>") == 2
    assert french.count("<td>2</td><td>1,00</td>") == 2 and "1.00" not in french
    with db.read() as session:
        for item in (first, second):
            got = service.get_item(session, item)
            assert got.status is service.MediaStatus.agreed and got.qa_sampled
    sample = review.text.split("Quality sample", 1)[1].split("<h2>", 1)[0]
    assert set(re.findall(r'href="/staff/grading/(\d+)"', sample)) == {str(first), str(second)}
    assert "Nothing has been sampled yet." not in sample


def test_reveal_and_grade_are_audited(
    app: FastAPI,
    login_as: Callable[[list[str]], TestClient],
    db: Database,
) -> None:
    item = stored_item(app, db, 23)
    analyst = login_as(["analyst"])
    revealed = post(analyst, f"/staff/grading/{item}/reveal")
    assert revealed.status_code == 200 and 'id="revealed"' in revealed.text
    graded = post(analyst, f"/staff/grading/{item}/grade", category="B", age_band="7-10")
    assert graded.status_code == 303
    with db.read() as session:
        rows = session.execute(
            select(AuditRow)
            .where(AuditRow.action.in_(["media.reveal", "media.grade"]))
            .order_by(AuditRow.seq)
        ).scalars()
        found = [
            (r.action, r.object_type, r.object_id, r.actor, json.loads(r.detail)) for r in rows
        ]
    assert [(a, t, i) for a, t, i, _, _ in found] == [
        ("media.reveal", "media", str(item)),
        ("media.grade", "media", str(item)),
    ]
    assert found[0][3] == found[1][3] and found[0][3].startswith("staff")
    assert found[1][4] == {"category": "B", "outcome": "waiting"}


def test_the_break_prompt_shows_when_due(
    app: FastAPI,
    login_as: Callable[[list[str]], TestClient],
    db: Database,
    settings: Settings,
) -> None:
    item = stored_item(app, db, 24)
    settings.break_every_minutes = 5
    settings.reveal_seconds = 200  # two reveals: 400 s of viewing, past the 5-minute mark
    analyst = login_as(["analyst"])
    page = analyst.get(f"/staff/grading/{item}")
    assert 'id="break-prompt"' not in page.text
    post(analyst, f"/staff/grading/{item}/reveal")
    assert 'id="break-prompt"' not in analyst.get(f"/staff/grading/{item}").text
    post(analyst, f"/staff/grading/{item}/reveal")
    page = analyst.get(f"/staff/grading/{item}")
    assert 'id="break-prompt"' in page.text
    assert "Please take a break" in page.text
    assert 'id="break-prompt"' in analyst.get("/staff/grading").text  # on the list page too

    assert post(analyst, "/staff/wellbeing/break").status_code == 303
    assert 'id="break-prompt"' not in analyst.get(f"/staff/grading/{item}").text


def test_the_list_count_is_bounded(
    app: FastAPI,
    login_as: Callable[[list[str]], TestClient],
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for seed in (31, 32, 33):
        stored_item(app, db, seed)
    analyst = login_as(["analyst"])
    assert re.search(r'id="grading-count">3 items', analyst.get("/staff/grading").text)
    monkeypatch.setattr(pages, "COUNT_LIMIT", 2)
    assert re.search(r'id="grading-count">2\+ items', analyst.get("/staff/grading").text)
