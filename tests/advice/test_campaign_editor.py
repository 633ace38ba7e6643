"""Campaigns in the advice editor: content editors list, add and edit campaigns (dates,
partners, texts per language, which videos it lists), add a video for a campaign, see its page
views; every input checked, nothing half-saved, every view and save audited, a confirmation
after each action; the use cases (campaigns_edit) check the permission themselves."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient

from hotline.advice import campaigns, campaigns_edit, store
from hotline.advice.model import ResourceKind
from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from hotline.errors import Conflict, Forbidden, NotFound
from hotline.security import audit, users
from tests.conftest import csrf_from

Login = Callable[[list[str]], TestClient]
VERSION_RE = re.compile(r'name="version" value="([^"]*)"')


@pytest.fixture
def editor(db: Database, login_as: Login) -> TestClient:
    seed_advice(db)
    return login_as(["content_editor"])


def entries(db: Database, action: str, object_type: str = "advice_campaign") -> list:  # type: ignore[type-arg]
    with db.read() as session:
        found = audit.recent(session, 500)
    return [e for e in found if e.action == action and e.object_type == object_type]


def all_campaigns(db: Database) -> list[campaigns.Campaign]:
    with db.read() as session:
        return campaigns.list_campaigns(session)


def video_ids(db: Database) -> list[int]:
    with db.read() as session:
        return [r.id for r in store.list_resources(session, ResourceKind.video)]


def new_form(editor: TestClient, **changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": csrf_from(editor.get("/staff/advice/campaigns/new").text),
        "slug": "talk-early",
        "starts_on": "2026-09-01",
        "ends_on": "2026-12-31",
        "partners": "Example Ministry of Health\r\n\r\nExample Parents' Network\r\n",
        "position": "5",
        "title_en": "Talk early, talk often",
        "summary_en": "Short films help parents start conversations about online life.",
        "title_fr": "Parler tôt, parler souvent",
        "summary_fr": "De courts films aident les parents à parler de la vie en ligne.",
    }
    form.update(changes)
    return form


def create(editor: TestClient, **changes: str | list[str]) -> int:
    response = editor.post(
        "/staff/advice/campaigns/new", data=new_form(editor, **changes), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_editor_adds_a_campaign_and_its_page_is_public(db: Database, editor: TestClient) -> None:
    first_video = video_ids(db)[0]
    response = editor.post(
        "/staff/advice/campaigns/new",
        data=new_form(editor, videos=[str(first_video)]),
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = editor.get(response.headers["location"])
    assert "Campaign added. Its page is public now." in page.text  # the flash, once
    assert "Campaign added." not in editor.get(response.headers["location"]).text
    (made,) = [c for c in all_campaigns(db) if c.slug == "talk-early"]
    assert made.partners == ("Example Ministry of Health", "Example Parents' Network")
    assert (made.starts_on, made.ends_on, made.position) == (
        date(2026, 9, 1),
        date(2026, 12, 31),
        5,
    )
    assert made.video_ids == (first_video,) and not made.is_example
    assert set(made.texts) == {"en", "fr"}
    (created,) = entries(db, "advice.create")
    assert created.object_id == str(made.id)
    assert created.detail == {"slug": "talk-early", "languages": ["en", "fr"], "videos": 1}

    public = editor.get("/advice/campaigns/talk-early?lang=fr").text
    assert "Parler tôt, parler souvent" in public and "Example Parents&#39; Network" in public
    assert "Talk early, talk often" in editor.get("/advice/campaigns?lang=en").text
    # The hub editor lists it, with a link to its form and its views.
    index = editor.get("/staff/advice").text
    assert f'href="/staff/advice/campaigns/{made.id}"' in index
    assert 'href="/staff/advice/campaigns/new"' in index
    with db.read() as session:
        assert audit.verify(session).ok


def test_editor_edits_dates_partners_texts_and_videos(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    first, second = video_ids(db)[:2]
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    assert 'type="date"' in page and 'value="2026-09-01"' in page
    form = new_form(
        editor,
        csrf_token=csrf_from(page),
        version=VERSION_RE.search(page).group(1),  # type: ignore[union-attr]
        ends_on="",
        partners="Example Ministry of Health",
        title_fr="",
        summary_fr="",
        is_example="on",
        videos=[str(first), str(second)],
    )
    response = editor.post(
        f"/staff/advice/campaigns/{campaign_id}", data=form, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/advice/campaigns/{campaign_id}"
    assert "Campaign saved." in editor.get(response.headers["location"]).text
    with db.read() as session:
        saved = campaigns.get_campaign(session, campaign_id)
    assert saved.ends_on is None and saved.partners == ("Example Ministry of Health",)
    assert saved.is_example and set(saved.texts) == {"en"}
    assert saved.video_ids == tuple(sorted((first, second)))
    (update,) = entries(db, "advice.update")
    assert update.detail == {"changed": ["facts", "fr", "videos"]}
    public = editor.get("/advice/campaigns/talk-early?lang=en").text
    assert "Since" in public and "Example entry:" in public

    # Unticking every video unlists them (the videos themselves stay).
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    form.update(csrf_token=csrf_from(page), version=VERSION_RE.search(page).group(1))  # type: ignore[union-attr]
    del form["videos"]
    assert editor.post(f"/staff/advice/campaigns/{campaign_id}", data=form).status_code == 200
    with db.read() as session:
        assert campaigns.get_campaign(session, campaign_id).video_ids == ()
    assert {first, second} <= set(video_ids(db))


def test_the_slug_can_change_and_the_page_moves(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    form = new_form(
        editor,
        csrf_token=csrf_from(page),
        version=VERSION_RE.search(page).group(1),  # type: ignore[union-attr]
        slug="Talk-Early-2027",
    )
    assert editor.post(f"/staff/advice/campaigns/{campaign_id}", data=form).status_code == 200
    assert editor.get("/advice/campaigns/talk-early-2027").status_code == 200
    assert editor.get("/advice/campaigns/talk-early").status_code == 404


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "", "This field is required."),
        ("slug", "Talk early!", "Use lower-case letters, digits and hyphens"),
        ("slug", "safer-at-home", "Another campaign already has this address."),
        ("starts_on", "", "This field is required."),
        ("starts_on", "1 September 2026", "Enter a date as year-month-day"),
        ("starts_on", "2026-02-30", "Enter a date as year-month-day"),
        ("ends_on", "2026-08-31", "The end date cannot be before the start date."),
        ("partners", "x" * 121, "at most 120 characters"),
        ("partners", "\n".join(f"Partner {i}" for i in range(31)), "List at most 30 partners"),
        ("position", "-1", "Enter a whole number"),
        ("title_en", "", "This field is required."),
        ("title_en", "x" * 121, "Use at most 120 characters"),
        ("summary_fr", "", "This field is required."),
        ("summary_en", "bell\x07", "Remove the control characters"),
        ("videos", "first", "Choose the campaign's videos from the list."),
        ("videos", "999999", "Choose the campaign's videos from the list."),
    ],
)
def test_bad_input_is_refused_per_field_and_nothing_is_saved(
    db: Database, editor: TestClient, field: str, value: str, message: str
) -> None:
    before = all_campaigns(db)
    form = new_form(editor, **{field: value})
    response = editor.post("/staff/advice/campaigns/new", data=form)
    assert response.status_code == 422
    html = response.text
    assert f'id="{field}-error"' in html and message in html, html
    assert 'role="alert"' in html and f'href="#{field}"' in html
    assert "Parler tôt, parler souvent" in html  # what was typed is kept
    assert all_campaigns(db) == before
    assert entries(db, "advice.create") == []


def test_errors_are_shown_in_french(editor: TestClient) -> None:
    form = new_form(editor, starts_on="soon", slug="")
    html = editor.post("/staff/advice/campaigns/new?lang=fr", data=form).text
    assert "Ce champ est obligatoire." in html
    assert "Veuillez corriger les points suivants" in html
    assert "Enter a date" not in html


def test_a_stale_campaign_form_is_refused_and_keeps_the_typing(
    db: Database, editor: TestClient
) -> None:
    campaign_id = create(editor)
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    form = new_form(editor, csrf_token=csrf_from(page), version="stale", title_en="Mine")
    response = editor.post(f"/staff/advice/campaigns/{campaign_id}", data=form)
    assert response.status_code == 409
    assert "Someone else saved this while you were editing" in response.text
    assert 'value="Mine"' in response.text
    with db.read() as session:
        assert campaigns.get_campaign(session, campaign_id).texts["en"].title != "Mine"
    assert entries(db, "advice.update") == []
    # Saving again, knowingly, goes through.
    retry = {**form, "version": VERSION_RE.search(response.text).group(1)}  # type: ignore[union-attr]
    assert editor.post(f"/staff/advice/campaigns/{campaign_id}", data=retry).status_code == 200
    with db.read() as session:
        assert campaigns.get_campaign(session, campaign_id).texts["en"].title == "Mine"


def test_a_new_video_for_a_campaign_is_listed_on_it(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    page = editor.get(f"/staff/advice/videos/new?campaign={campaign_id}").text
    assert f'name="campaign" value="{campaign_id}"' in page
    base = {
        "csrf_token": csrf_from(page),
        "campaign": str(campaign_id),
        "media_language": "fr",
        "title_en": "Starting the conversation",
        "summary_en": "A parent and a child talk about a game's chat.",
    }
    bad = editor.post("/staff/advice/videos/new", data={**base, "url": "javascript:alert(1)"})
    assert bad.status_code == 422 and 'id="url-error"' in bad.text
    assert f'name="campaign" value="{campaign_id}"' in bad.text  # still for the campaign
    response = editor.post(
        "/staff/advice/videos/new",
        data={**base, "url": "https://www.example.org/talk-early/fr"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/advice/campaigns/{campaign_id}"
    assert "Video added and listed on the campaign" in editor.get(response.headers["location"]).text
    with db.read() as session:
        listed = campaigns.get_campaign(session, campaign_id).video_ids
        (video,) = [r for r in store.list_resources(session, ResourceKind.video) if r.id in listed]
    assert video.facts.url == "https://www.example.org/talk-early/fr"
    public = editor.get("/advice/campaigns/talk-early?lang=en").text
    assert "Starting the conversation" in public and "In French" in public
    assert entries(db, "advice.update")[0].detail == {
        "changed": ["videos"],
        "video_added": video.id,
    }


def test_a_video_for_a_missing_campaign_is_not_made(db: Database, editor: TestClient) -> None:
    before = video_ids(db)
    assert editor.get("/staff/advice/videos/new?campaign=999999").status_code == 404
    assert editor.get("/staff/advice/videos/new?campaign=x").status_code == 404
    token = csrf_from(editor.get("/staff/advice/videos/new").text)
    response = editor.post(
        "/staff/advice/videos/new",
        data={
            "csrf_token": token,
            "campaign": "999999",
            "url": "https://www.example.org/v",
            "media_language": "en",
            "title_en": "T",
            "summary_en": "S",
        },
    )
    assert response.status_code == 404
    assert video_ids(db) == before  # not half-written: no video without its campaign


def test_the_campaign_form_shows_its_page_views(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    for _ in range(3):
        assert editor.get("/advice/campaigns/talk-early").status_code == 200
    page = editor.get(f"/staff/advice/campaigns/{campaign_id}").text
    views = page[page.index('id="campaign-views"') :]
    assert re.search(r"Views, last 30 days</dt><dd>3</dd>", views)
    assert re.search(r"Views, all time</dt><dd>3</dd>", views)


def test_unknown_campaigns_are_404(editor: TestClient) -> None:
    assert editor.get("/staff/advice/campaigns/999999").status_code == 404
    token = csrf_from(editor.get("/staff/advice/campaigns/new").text)
    response = editor.post("/staff/advice/campaigns/999999", data={"csrf_token": token})
    assert response.status_code == 404


def test_views_are_audited_and_every_control_has_a_label(db: Database, editor: TestClient) -> None:
    campaign_id = create(editor)
    before = len(entries(db, "advice.view"))
    for path in ["/staff/advice/campaigns/new", f"/staff/advice/campaigns/{campaign_id}"]:
        response = editor.get(path)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        html = response.text
        ids = re.findall(
            r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html
        )
        controls = re.findall(r"<(?:input|textarea|select)(?![^>]*type=\"hidden\")", html)
        assert len(ids) == len(controls) > 10, path
        for control_id in ids:
            assert f'<label for="{control_id}">' in html, (path, control_id)
    assert len(entries(db, "advice.view")) == before + 2


@pytest.mark.parametrize("role", ["analyst", "senior_analyst", "takedown_officer"])
def test_other_roles_may_not_open_or_post(db: Database, login_as: Login, role: str) -> None:
    seed_advice(db)
    client = login_as([role])
    (first, *_) = all_campaigns(db)
    assert client.get("/staff/advice/campaigns/new").status_code == 403
    assert client.get(f"/staff/advice/campaigns/{first.id}").status_code == 403
    token = csrf_from(client.get("/advice").text)
    form = {"csrf_token": token, "slug": "x", "starts_on": "2026-01-01", "title_en": "x"}
    assert client.post("/staff/advice/campaigns/new", data=form).status_code == 403
    assert client.post(f"/staff/advice/campaigns/{first.id}", data=form).status_code == 403
    assert all_campaigns(db)[0] == first and len(all_campaigns(db)) == 2


def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/advice/campaigns/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


def test_post_without_csrf_token_is_refused(db: Database, editor: TestClient) -> None:
    form = new_form(editor)
    del form["csrf_token"]
    assert editor.post("/staff/advice/campaigns/new", data=form).status_code == 403
    assert "talk-early" not in [c.slug for c in all_campaigns(db)]


def test_the_use_cases_check_the_permission_themselves(db: Database) -> None:
    seed_advice(db)
    with db.write() as session:
        analyst = users.create_user(session, "ana", "a long enough password", ["analyst"])
        editor = users.create_user(session, "eve", "a long enough password", ["content_editor"])
    ana, eve = analyst.actor(mfa_passed=True), editor.actor(mfa_passed=True)
    values = {"slug": "by-the-cli", "starts_on": "2026-01-01", "title_en": "T", "summary_en": "S"}
    with pytest.raises(Forbidden), db.write() as session:
        campaigns_edit.create_campaign(session, ana, values, [], ["en", "fr"])
    with db.write() as session:
        made = campaigns_edit.create_campaign(session, eve, values, [], ["en", "fr"])
    with pytest.raises(Forbidden), db.write() as session:
        campaigns_edit.open_campaign(session, ana, made.id)
    with pytest.raises(Conflict), db.write() as session:
        campaigns_edit.update_campaign(session, eve, made.id, values, [], ["en", "fr"])
    with pytest.raises(NotFound), db.write() as session:
        campaigns_edit.add_video(session, eve, made.id, 999_999)
    with pytest.raises(campaigns_edit.CampaignRefused) as refused, db.write() as session:
        campaigns_edit.create_campaign(session, eve, values, [], ["en", "fr"])
    assert refused.value.status == 422 and [f.field for f in refused.value.fields] == ["slug"]


def test_existing_editor_actions_confirm_with_a_flash(db: Database, editor: TestClient) -> None:
    token = csrf_from(editor.get("/staff/advice/links/new").text)
    form = {
        "csrf_token": token,
        "url": "https://www.example.org/",
        "category": "charity",
        "title_en": "Example charity",
        "summary_en": "An example.",
    }
    response = editor.post("/staff/advice/links/new", data=form, follow_redirects=False)
    assert response.status_code == 303 and "?" not in response.headers["location"]
    assert "<p>Added.</p>" in editor.get(response.headers["location"]).text
    resource_id = response.headers["location"].rsplit("/", 1)[1]
    confirm = editor.get(f"/staff/advice/links/{resource_id}/delete")
    response = editor.post(
        f"/staff/advice/links/{resource_id}/delete",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff/advice"
    assert "<p>Deleted.</p>" in editor.get("/staff/advice").text
