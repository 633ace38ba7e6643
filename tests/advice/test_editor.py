"""Staff editing: only content editors, every input checked, nothing half-saved, all audited."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from hotline.advice import store
from hotline.advice.model import AgeBand, ResourceKind
from hotline.advice.seed import seed_advice
from hotline.db.engine import Database
from hotline.security import audit
from tests.conftest import csrf_from

Login = Callable[[list[str]], TestClient]
VERSION_RE = re.compile(r'name="version" value="([^"]*)"')

EDITOR_PAGES = [
    "/staff/advice",
    "/staff/advice/age/under-5",
    "/staff/advice/videos/new",
    "/staff/advice/links/new",
    "/staff/advice/helplines/new",
]


@pytest.fixture
def editor(db: Database, login_as: Login) -> TestClient:
    seed_advice(db)
    return login_as(["content_editor"])


def entries(db: Database, action: str) -> list[audit.AuditEntry]:
    with db.read() as session:
        return [e for e in audit.recent(session, 500) if e.action == action]


@pytest.mark.parametrize("path", EDITOR_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/login")


@pytest.mark.parametrize("role", ["analyst", "taskforce_grader", "takedown_officer"])
def test_other_roles_are_refused(login_as: Login, role: str) -> None:
    client = login_as([role])
    for path in EDITOR_PAGES:
        assert client.get(path).status_code == 403, path


def test_analyst_cannot_post_either(db: Database, login_as: Login) -> None:
    seed_advice(db)
    client = login_as(["analyst"])
    token = csrf_from(client.get("/advice").text)
    response = client.post(
        "/staff/advice/age/under-5",
        data={"csrf_token": token, "title_en": "x", "summary_en": "x", "body_en": "x"},
    )
    assert response.status_code == 403
    with db.read() as session:
        assert store.load_guide(session, AgeBand.under_5).texts["en"].title != "x"


@pytest.mark.parametrize("path", EDITOR_PAGES)
def test_content_editor_may_open_every_page_and_each_view_is_audited(
    db: Database, editor: TestClient, path: str
) -> None:
    before = len(entries(db, "advice.view"))
    response = editor.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert len(entries(db, "advice.view")) == before + 1


def test_every_editor_control_has_a_label(db: Database, editor: TestClient) -> None:
    import re

    with db.read() as session:
        helpline = store.list_resources(session, ResourceKind.helpline)[0]
    for path in [*EDITOR_PAGES[1:], f"/staff/advice/helplines/{helpline.id}"]:
        html = editor.get(path).text
        ids = re.findall(
            r'<(?:input|textarea|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html
        )
        controls = re.findall(r"<(?:input|textarea|select)(?![^>]*type=\"hidden\")", html)
        assert len(ids) == len(controls), path
        for control_id in ids:
            assert f'<label for="{control_id}">' in html, (path, control_id)


def version_from(html: str) -> str:
    match = VERSION_RE.search(html)
    assert match, "form has no version field"
    return match.group(1)


def _guide_form(editor: TestClient, band: str = "under-5") -> dict[str, str]:
    html = editor.get(f"/staff/advice/age/{band}").text
    return {
        "csrf_token": csrf_from(html),
        "version": version_from(html),
        "title_en": "Under 5: edited",
        "summary_en": "Edited summary.",
        "body_en": "## Edited\n\n- a step",
        "title_fr": "Moins de 5 ans : modifié",
        "summary_fr": "Résumé modifié.",
        "body_fr": "## Modifié\n\n- une étape",
    }


def test_editor_saves_a_guide_and_the_public_page_shows_it(
    db: Database, editor: TestClient
) -> None:
    response = editor.post(
        "/staff/advice/age/under-5", data=_guide_form(editor), follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/advice/age/under-5"
    assert "Saved." in editor.get(response.headers["location"]).text
    public = editor.get("/advice/age/under-5?lang=fr").text
    assert "Moins de 5 ans : modifié" in public and "<h2>Modifié</h2>" in public
    saves = entries(db, "advice.update")
    assert saves[0].object_type == "advice_guide" and saves[0].object_id == "under-5"
    assert saves[0].detail == {"changed": ["en", "fr"]}
    with db.read() as session:
        assert audit.verify(session).ok


def test_bad_guide_input_is_shown_again_with_errors_and_nothing_is_saved(
    db: Database, editor: TestClient
) -> None:
    with db.read() as session:
        before = store.load_guide(session, AgeBand.under_5)
    form = _guide_form(editor)
    form.update(title_en="", body_fr="", summary_fr="x" * 301)
    response = editor.post("/staff/advice/age/under-5", data=form)
    assert response.status_code == 422
    html = response.text
    assert 'role="alert"' in html
    assert 'id="title_en-error"' in html and "This field is required." in html
    assert "Use at most 300 characters (this has 301)." in html
    assert 'id="body_fr-error"' in html
    assert 'aria-invalid="true"' in html
    # What was typed is kept (the French title stays in the form).
    assert "Moins de 5 ans : modifié" in html
    with db.read() as session:
        assert store.load_guide(session, AgeBand.under_5) == before
    assert entries(db, "advice.update") == []


def test_errors_are_translated_for_a_french_editor(editor: TestClient) -> None:
    form = _guide_form(editor)
    form["title_en"] = ""
    html = editor.post("/staff/advice/age/under-5?lang=fr", data=form).text
    assert "Ce champ est obligatoire." in html
    assert "Veuillez corriger les points suivants" in html


def _helpline_form(editor: TestClient) -> dict[str, str]:
    return {
        "csrf_token": csrf_from(editor.get("/staff/advice/helplines/new").text),
        "url": "https://www.example.org/help",
        "country": "CA",
        "phone": "+1 800 555 0100",
        "position": "1",
        "title_en": "Example helpline",
        "summary_en": "An example entry.",
        "is_example": "on",
    }


def test_editor_creates_then_edits_a_helpline(db: Database, editor: TestClient) -> None:
    response = editor.post(
        "/staff/advice/helplines/new", data=_helpline_form(editor), follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    resource_id = int(location.split("/")[-1].split("?")[0])
    created = entries(db, "advice.create")
    assert created[0].object_id == str(resource_id)
    assert created[0].detail["kind"] == "helpline"
    public = editor.get("/advice/help").text
    assert "Example helpline" in public and "tel:+18005550100" in public

    form = _helpline_form(editor)
    page = editor.get(location).text
    form.update(
        csrf_token=csrf_from(page),
        version=version_from(page),
        title_fr="Ligne exemple",
        summary_fr="Un exemple.",
    )
    response = editor.post(
        f"/staff/advice/helplines/{resource_id}", data=form, follow_redirects=False
    )
    assert response.status_code == 303
    assert entries(db, "advice.update")[0].detail == {"kind": "helpline", "changed": ["fr"]}
    assert "Ligne exemple" in editor.get("/advice/help?lang=fr").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "javascript:alert(1)", "Enter a full web address"),
        ("url", "data:text/html,x", "Enter a full web address"),
        ("url", "", "This field is required."),
        ("phone", "call us", "Enter a phone number"),
        ("country", "XX", "Choose a country."),
        ("position", "first", "Enter a whole number"),
        ("title_en", "", "This field is required."),
        ("title_en", "x" * 121, "Use at most 120 characters"),
    ],
)
def test_bad_helpline_input_is_refused_per_field(
    db: Database, editor: TestClient, field: str, value: str, message: str
) -> None:
    with db.read() as session:
        before = len(store.list_resources(session))
    form = _helpline_form(editor)
    form[field] = value
    response = editor.post("/staff/advice/helplines/new", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    with db.read() as session:
        assert len(store.list_resources(session)) == before
    assert entries(db, "advice.create") == []


def test_video_and_link_forms_check_their_own_fields(editor: TestClient) -> None:
    token = csrf_from(editor.get("/staff/advice/videos/new").text)
    base = {"csrf_token": token, "url": "https://example.org/", "title_en": "T", "summary_en": "S"}
    video = editor.post("/staff/advice/videos/new", data={**base, "media_language": "de"})
    assert video.status_code == 422 and 'id="media_language-error"' in video.text
    link = editor.post("/staff/advice/links/new", data={**base, "category": "blog"})
    assert link.status_code == 422 and 'id="category-error"' in link.text
    ok = editor.post(
        "/staff/advice/links/new", data={**base, "category": "charity"}, follow_redirects=False
    )
    assert ok.status_code == 303


def test_unknown_kinds_and_ids_are_404(db: Database, editor: TestClient) -> None:
    assert editor.get("/staff/advice/blogs/new").status_code == 404
    assert editor.get("/staff/advice/helplines/999999").status_code == 404
    assert editor.get("/staff/advice/age/18-25").status_code == 404
    with db.read() as session:
        video = store.list_resources(session, ResourceKind.video)[0]
    # A video is not reachable as a helpline.
    assert editor.get(f"/staff/advice/helplines/{video.id}").status_code == 404


def test_post_without_csrf_token_is_refused(db: Database, editor: TestClient) -> None:
    form = _guide_form(editor)
    del form["csrf_token"]
    response = editor.post("/staff/advice/age/under-5", data=form)
    assert response.status_code == 403
    forged = editor.post("/staff/advice/age/under-5", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    with db.read() as session:
        assert store.load_guide(session, AgeBand.under_5).texts["en"].title != "Under 5: edited"


def test_xss_typed_into_the_editor_is_harmless_everywhere(editor: TestClient) -> None:
    form = _guide_form(editor)
    form.update(
        title_en='<script>alert("t")</script>',
        body_en="<img src=x onerror=alert(1)>\n\n[x](javascript:alert(1))",
    )
    assert editor.post("/staff/advice/age/under-5", data=form).status_code == 200
    public = editor.get("/advice/age/under-5?lang=en").text
    assert '<script>alert("t")</script>' not in public
    assert "&lt;script&gt;" in public
    assert "<img" not in public and 'href="javascript' not in public
    staff = editor.get("/staff/advice/age/under-5").text
    assert '<script>alert("t")</script>' not in staff


def test_a_stale_form_does_not_overwrite_a_newer_save(db: Database, editor: TestClient) -> None:
    first = _guide_form(editor)
    second = {**_guide_form(editor), "title_en": "Second editor's title"}
    assert editor.post("/staff/advice/age/under-5", data=first).status_code == 200
    response = editor.post("/staff/advice/age/under-5", data=second)
    assert response.status_code == 409
    assert "Someone else saved this while you were editing" in response.text
    assert "Second editor&#39;s title" in response.text  # their typing is kept
    with db.read() as session:
        assert store.load_guide(session, AgeBand.under_5).texts["en"].title == "Under 5: edited"
    # Saving again, knowingly, goes through.
    retry = {**second, "version": version_from(response.text)}
    assert editor.post("/staff/advice/age/under-5", data=retry).status_code == 200
    with db.read() as session:
        title = store.load_guide(session, AgeBand.under_5).texts["en"].title
    assert title == "Second editor's title"


def test_a_stale_resource_form_is_refused_too(db: Database, editor: TestClient) -> None:
    with db.read() as session:
        helpline = store.list_resources(session, ResourceKind.helpline)[0]
    path = f"/staff/advice/helplines/{helpline.id}"
    page = editor.get(path).text
    form = {**_helpline_form(editor), "csrf_token": csrf_from(page), "version": "stale"}
    assert editor.post(path, data=form).status_code == 409
    with db.read() as session:
        assert store.get_resource(session, helpline.id) == helpline


def test_editor_deletes_a_resource_after_confirming(db: Database, editor: TestClient) -> None:
    with db.read() as session:
        video = store.list_resources(session, ResourceKind.video)[0]
    confirm = editor.get(f"/staff/advice/videos/{video.id}/delete")
    assert confirm.status_code == 200
    response = editor.post(
        f"/staff/advice/videos/{video.id}/delete",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Deleted." in editor.get(response.headers["location"]).text
    with db.read() as session:
        assert video.id not in [r.id for r in store.list_resources(session)]
    deleted = entries(db, "advice.delete")
    assert deleted[0].detail["slug"] == video.slug
    assert editor.get(f"/staff/advice/videos/{video.id}").status_code == 404
    assert video.texts["en"].title not in editor.get("/advice/videos").text


def test_analyst_cannot_delete(db: Database, login_as: Login) -> None:
    seed_advice(db)
    client = login_as(["analyst"])
    with db.read() as session:
        video = store.list_resources(session, ResourceKind.video)[0]
    token = csrf_from(client.get("/advice").text)
    response = client.post(f"/staff/advice/videos/{video.id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    with db.read() as session:
        assert store.get_resource(session, video.id) == video


def test_unknown_addresses_are_refused_in_french(db: Database, editor: TestClient) -> None:
    editor.headers["Accept-Language"] = "fr-FR,fr;q=0.9"
    for path, says in (
        ("/staff/advice/blogs/new", "ce type de ressource de conseils n’existe pas"),
        ("/staff/advice/age/18-25", "cette tranche d’âge n’existe pas"),
        ("/staff/advice/helplines/999999", "cette ressource de conseils n’existe pas"),
    ):
        answer = editor.get(path)
        assert answer.status_code == 404 and says in answer.text, path
        assert "there is no such" not in answer.text, path
