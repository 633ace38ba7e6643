"""Case and grading pages (issue 14.7): colleagues' verdict notes, words instead of codes or
"None", "duplicate of" chosen by a search, the next item after a grade, "hide again" after
a reveal, and each category's legal meaning beside the form."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hotline.db.engine import Database
from hotline.security.tables import AuditRow
from tests.assess.conftest import draw_image
from tests.conftest import StaffFactory, csrf_from
from tests.grading.helpers import store_media

RAW = re.compile(r">\s*(None|awaiting_grades|not_illegal|in_assessment|no_action)\s*<")


def _post(client: TestClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/staff/wellbeing").text)
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def test_after_a_grade_the_next_item_then_the_list(
    app: FastAPI, login_as: Callable[[list[str]], TestClient], db: Database
) -> None:
    first = store_media(app, db, draw_image(31), "image", name="31")
    second = store_media(app, db, draw_image(32), "image", name="32")
    analyst = login_as(["analyst"])
    graded = _post(analyst, f"/staff/grading/{first}/grade", category="C", age_band="14-15")
    assert graded.status_code == 303
    assert graded.headers["location"] == f"/staff/grading/{second}?done={first}"
    page = analyst.get(graded.headers["location"])
    assert 'id="grade-recorded"' in page.text and f"#{first}" in page.text
    last = _post(analyst, f"/staff/grading/{second}/grade", category="not_illegal")
    assert last.headers["location"] == f"/staff/grading?done={second}"
    assert "Nothing is waiting for your grade." in analyst.get(last.headers["location"]).text
    assert analyst.get(f"/staff/grading/{second}?done=x").status_code == 422


def test_item_page_words_guidance_and_hide_again(
    app: FastAPI, login_as: Callable[[list[str]], TestClient], db: Database
) -> None:
    item = store_media(app, db, draw_image(33), "image", name="33")
    analyst = login_as(["analyst"])
    page = analyst.get(f"/staff/grading/{item}")
    assert 'id="category-guidance"' in page.text
    assert "non-penetrative sexual activity" in page.text
    assert "Awaiting grades" in page.text and not RAW.search(page.text)
    assert ">Not illegal</label>" in page.text and ">11 to 13 years</option>" in page.text
    assert 'id="hide-again"' not in page.text
    revealed = _post(analyst, f"/staff/grading/{item}/reveal")
    assert 'id="revealed"' in revealed.text
    hide = re.search(r'<a href="([^"]+)" id="hide-again"', revealed.text)
    assert hide is not None
    hidden = analyst.get(hide.group(1))
    assert 'id="blurred"' in hidden.text and 'id="revealed"' not in hidden.text
    french = analyst.get(f"/staff/grading/{item}?lang=fr")
    assert "Ce que chaque catégorie signifie en droit" in french.text
    assert "En attente d&#39;évaluations" in french.text


def _claim_next(analyst: TestClient) -> tuple[str, str]:
    token = csrf_from(analyst.get("/staff/queue").text)
    location = analyst.post(
        "/staff/queue/claim-next", data={"csrf_token": token}, follow_redirects=False
    ).headers["location"]
    return location, token


def test_duplicate_chosen_by_search_and_notes_shown(
    app: FastAPI, staff: StaffFactory, db: Database
) -> None:
    with TestClient(app) as public, TestClient(app) as ana, TestClient(app) as ben:
        public.post("/api/v1/reports", json={"url": "https://example.com/gallery/one"})
        other = public.post("/api/v1/reports", json={"url": "https://example.com/Other"})
        staff.login(ana, ["analyst"])
        staff.login(ben, ["analyst"])
        case, token = _claim_next(ana)  # the older report: gallery/one
        found = ana.get(f"{case}?dup=OTHER")
        assert found.status_code == 200
        choices = re.findall(r'name="duplicate_of" value="(\d+)"', found.text)
        assert len(choices) == 1 and case != f"/staff/queue/{choices[0]}"
        assert "https://example.com/Other" in found.text
        by_reference = ana.get(f"{case}?dup={other.json()['reference']}")
        assert re.findall(r'name="duplicate_of" value="(\d+)"', by_reference.text) == choices
        itself = ana.get(f"{case}?dup=gallery/one")
        assert 'id="duplicate-none"' in itself.text  # never the address being assessed
        assert ana.get(f"{case}?dup={'x' * 201}").status_code == 422
        assert 'inputmode="numeric"' not in found.text  # no typed id any more
        done = ana.post(
            f"{case}/verdict",
            data={
                "csrf_token": token,
                "decision": "duplicate/same_content_as_other_url",
                "duplicate_of": choices[0],
                "note": "Same gallery as the other report.",
            },
            follow_redirects=False,
        )
        assert done.status_code == 303
        seen = ben.get(case)
        assert "Same gallery as the other report." in seen.text
        assert 'id="case-verdict-note"' in seen.text
        assert "Same content as another address" in seen.text
        assert f'href="/staff/queue/{choices[0]}"' in seen.text
        assert not RAW.search(seen.text)
    with db.read() as session:
        searches = session.execute(
            select(AuditRow.detail).where(AuditRow.action == "url.search")
        ).scalars()
        assert len(list(searches)) == 3


def test_only_the_claim_holder_searches(app: FastAPI, staff: StaffFactory) -> None:
    with TestClient(app) as public, TestClient(app) as ana, TestClient(app) as ben:
        staff.login(ana, ["analyst"])
        staff.login(ben, ["analyst"])
        public.post("/api/v1/reports", json={"url": "https://example.com/two"})
        public.post("/api/v1/reports", json={"url": "https://example.com/three"})
        case, _token = _claim_next(ana)
        page = ben.get(f"{case}?dup=example")
        assert page.status_code == 200
        assert 'name="duplicate_of"' not in page.text
