"""Unpublishing and deleting a campaign in the advice editor: unpublished, its public page
answers 404 and it leaves the public list (texts, videos and page views kept); deleted, it goes
with its texts, video links and page views (its videos stay), after a confirmation the server
checks. Both for editors only, audited, confirmed, in English and French."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hotline.advice import campaigns, campaigns_edit, store
from hotline.advice.model import ResourceKind
from hotline.advice.seed import seed_advice
from hotline.advice.tables import CampaignTextRow, CampaignVideoRow, CampaignVisitRow
from hotline.db.engine import Database
from hotline.errors import Forbidden, NotFound
from hotline.security import users
from tests.advice.test_campaign_editor import Login, create, entries, video_ids
from tests.conftest import csrf_from

PAGE = "/advice/campaigns/talk-early"


@pytest.fixture
def editor(db: Database, login_as: Login) -> TestClient:
    seed_advice(db)
    return login_as(["content_editor"])


def _token(client: TestClient) -> str:
    return csrf_from(client.get("/staff/advice/campaigns/new").text)


def _count(db: Database, table: Any, campaign_id: int) -> int:
    with db.read() as session:
        return session.execute(
            select(func.count()).select_from(table).where(table.campaign_id == campaign_id)
        ).scalar_one()


def test_an_unpublished_campaign_answers_404_until_published_again(
    db: Database, editor: TestClient
) -> None:
    campaign_id = create(editor, videos=[str(video_ids(db)[0])])
    assert editor.get(PAGE).status_code == 200
    token = _token(editor)
    form_page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    assert f'action="/staff/advice/campaigns/{campaign_id}/unpublish"' in form_page
    done = editor.post(
        f"/staff/advice/campaigns/{campaign_id}/unpublish",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    assert "Campaign unpublished." in page and 'id="campaign-state"' in page
    assert f'action="/staff/advice/campaigns/{campaign_id}/publish"' in page
    assert editor.get(PAGE).status_code == 404
    assert "talk-early" not in editor.get("/advice/campaigns").text
    assert "(unpublished)" in editor.get("/staff/advice").text
    # Kept: its texts, its videos, its views.
    assert _count(db, CampaignTextRow, campaign_id) == 2
    assert _count(db, CampaignVideoRow, campaign_id) == 1
    assert [e.object_id for e in entries(db, "advice.unpublish")] == [str(campaign_id)]
    # Unpublishing again changes nothing and is not audited twice.
    editor.post(f"/staff/advice/campaigns/{campaign_id}/unpublish", data={"csrf_token": token})
    assert len(entries(db, "advice.unpublish")) == 1
    french = editor.get(f"/staff/advice/campaigns/{campaign_id}?lang=fr").text
    assert "Dépubliée : sa page n’est pas publique" in french
    assert "Publier de nouveau cette campagne" in french
    editor.post(f"/staff/advice/campaigns/{campaign_id}/publish", data={"csrf_token": token})
    assert editor.get(PAGE).status_code == 200
    assert "talk-early" in editor.get("/advice/campaigns").text
    assert [e.object_id for e in entries(db, "advice.publish")] == [str(campaign_id)]


def test_deleting_asks_for_a_confirmation_then_takes_the_views_with_it(
    db: Database, editor: TestClient
) -> None:
    video = video_ids(db)[0]
    campaign_id = create(editor, videos=[str(video)])
    for _ in range(2):
        assert editor.get(PAGE).status_code == 200
    confirm = editor.get(f"/staff/advice/campaigns/{campaign_id}/delete")
    assert confirm.status_code == 200
    assert "its 2 page views" in confirm.text and 'name="confirm" value="yes"' in confirm.text
    token = csrf_from(confirm.text)
    url = f"/staff/advice/campaigns/{campaign_id}/delete"
    for sent in ({}, {"confirm": "no"}):
        refused = editor.post(url, data={"csrf_token": token, **sent})
        assert refused.status_code == 422
        assert "the campaign was not deleted: confirm on its delete page" in refused.text
    french = editor.post(url + "?lang=fr", data={"csrf_token": token})
    assert french.status_code == 422 and "confirmez la suppression" in french.text
    assert editor.get(PAGE + "?lang=en").status_code == 200  # nothing deleted (a third view)
    assert entries(db, "advice.delete") == []

    deleted = editor.post(url, data={"csrf_token": token, "confirm": "yes"}, follow_redirects=False)
    assert deleted.status_code == 303 and deleted.headers["location"] == "/staff/advice"
    assert "Campaign deleted, with its page views." in editor.get("/staff/advice").text
    assert editor.get(PAGE).status_code == 404
    assert editor.get(f"/staff/advice/campaigns/{campaign_id}").status_code == 404
    for table in (CampaignTextRow, CampaignVideoRow, CampaignVisitRow):
        assert _count(db, table, campaign_id) == 0, table
    with db.read() as session:
        assert video in [r.id for r in store.list_resources(session, ResourceKind.video)]
    (entry,) = entries(db, "advice.delete")
    assert entry.object_id == str(campaign_id)
    assert entry.detail == {"slug": "talk-early", "title": "Talk early, talk often", "views": 3}
    again = editor.post(url, data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 404


def test_the_delete_page_in_french(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}/delete?lang=fr").text
    assert "Supprimer cette campagne" in page and "ses 0 consultations" in page


def test_waiting_views_of_a_deleted_campaign_are_dropped(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    kept_id = create(editor, slug="kept")
    counter = campaigns.VisitCounter(flush_seconds=3600, flush_views=1000)
    counter.hit(db, campaign_id)
    counter.hit(db, kept_id)
    with db.write() as session:  # deleted by another process meanwhile
        campaigns.delete_campaign(session, campaign_id)
    assert counter.flush(db) == 1  # no foreign-key failure, nothing kept waiting
    with db.read() as session:
        assert campaigns.visit_totals(session, date.today())[kept_id].total == 1
    assert counter.flush(db) == 0


@pytest.mark.parametrize("role", ["analyst", "takedown_officer"])
def test_other_roles_may_not_unpublish_or_delete(db: Database, login_as: Login, role: str) -> None:
    seed_advice(db)
    client = login_as([role])
    with db.read() as session:
        first = campaigns.list_campaigns(session)[0]
    token = csrf_from(client.get("/advice").text)
    base = f"/staff/advice/campaigns/{first.id}"
    assert client.post(f"{base}/unpublish", data={"csrf_token": token}).status_code == 403
    assert client.get(f"{base}/delete").status_code == 403
    done = client.post(f"{base}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 403
    with db.read() as session:
        assert campaigns.get_campaign(session, first.id) == first


def test_the_use_cases_check_the_permission_and_the_campaign(db: Database) -> None:
    seed_advice(db)
    with db.write() as session:
        ana = users.create_user(session, "ana", "a long enough password", ["analyst"])
        eve = users.create_user(session, "eve", "a long enough password", ["content_editor"])
        first = campaigns.list_campaigns(session)[0]
    analyst, editor_ = ana.actor(mfa_passed=True), eve.actor(mfa_passed=True)
    with pytest.raises(Forbidden), db.write() as session:
        campaigns_edit.set_published(session, analyst, first.id, False)
    with pytest.raises(Forbidden), db.write() as session:
        campaigns_edit.delete_campaign(session, analyst, first.id)
    with pytest.raises(NotFound), db.write() as session:
        campaigns_edit.set_published(session, editor_, 999_999, False)
    with pytest.raises(NotFound), db.write() as session:
        campaigns_edit.delete_campaign(session, editor_, 999_999)
    with db.write() as session:
        assert not campaigns_edit.set_published(session, editor_, first.id, False).published
    with db.read() as session:
        assert first.id not in [
            c.id for c in campaigns.list_campaigns(session, published_only=True)
        ]
        with pytest.raises(campaigns.CampaignNotFound):
            campaigns.load_campaign(session, first.slug)
