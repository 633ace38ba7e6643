"""Refusals speak French where the reader does (issue 14.5): messages with values (an
over-long address, a bad hash) and pydantic's own refusals, on the API by Accept-Language and
on pages in the page's language, with the `code` unchanged and the values filled in."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from hotline.errors import N_, FieldError, InvalidInput, Message, passed_on, translate
from hotline.intake.urls import MAX_URL_LENGTH
from hotline.web import i18n
from hotline.web.validation_messages import message_for
from tests.conftest import csrf_from
from tests.matching.helpers import make_key, make_list

FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
LONG_URL = "https://example.com/" + "a" * MAX_URL_LENGTH


def test_a_message_with_values_reads_as_english_and_translates_then_fills_in() -> None:
    message = N_("the address is longer than %(max)s characters", max=2048)
    assert message == "the address is longer than 2048 characters"  # CLI, logs
    assert isinstance(message, Message) and message.params == {"max": 2048}
    french = translate(message, i18n.translations("fr").gettext)
    assert french == "l’adresse dépasse 2048 caractères"
    # A reason passed on as a value is translated too; a name is shown as it is.
    nested = N_("frame %(frame)s: %(reason)s", frame=3, reason=message)
    assert translate(nested, i18n.translations("fr").gettext) == f"image 3 : {french}"
    assert str(InvalidInput(message)) is not None and isinstance(
        str(InvalidInput(message)), Message
    )


def test_a_reason_passed_on_is_translated_where_it_is_shown() -> None:
    gettext = i18n.translations("fr").gettext
    reason = passed_on(N_("a hash must be a string"))
    message = N_("frame %(frame)s: %(reason)s", frame=1, reason=reason)
    assert message == "frame 1: a hash must be a string"
    assert (
        translate(message, gettext) == "image 1 : une empreinte doit être une chaîne de caractères"
    )
    name = N_("there is no list called '%(name)s'", name="must be text")  # a name stays a name
    assert translate(name, gettext) == "aucune liste ne s’appelle « must be text »"


def test_a_translation_that_lost_a_placeholder_falls_back_to_english() -> None:
    message = N_("the address is longer than %(max)s characters", max=9)
    assert translate(message, lambda _id: "trop long : %(limite)s") == str(message)


def test_the_report_api_says_an_over_long_address_in_french(client: TestClient) -> None:
    english = client.post("/api/v1/reports", json={"url": LONG_URL}).json()["error"]
    french = client.post("/api/v1/reports", json={"url": LONG_URL}, headers=FR).json()["error"]
    assert english["code"] == french["code"] == "invalid_input"
    assert english["fields"] == [
        {"field": "url", "message": f"the address is longer than {MAX_URL_LENGTH} characters"}
    ]
    assert french["fields"] == [
        {"field": "url", "message": f"l’adresse dépasse {MAX_URL_LENGTH} caractères"}
    ]


def test_the_report_form_says_an_over_long_address_in_french(client: TestClient) -> None:
    token = csrf_from(client.get("/report?lang=fr").text)
    answer = client.post("/report?lang=fr", data={"csrf_token": token, "url": LONG_URL})
    assert answer.status_code == 422
    assert f"l’adresse dépasse {MAX_URL_LENGTH} caractères" in answer.text
    assert "longer than" not in answer.text


def test_the_match_api_says_a_bad_hash_in_french(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    make_list(db, "example-list")
    key = make_key(db, "example-member", ["example-list"])
    headers = {"Authorization": f"Bearer {key}", **FR}
    body = {"hashes": [{"type": "pdq", "value": "ab"}, {"type": "colour", "value": "x"}]}
    error = client.post("/api/v1/match", json=body, headers=headers).json()["error"]
    assert error["code"] == "invalid_input"
    assert (
        error["message"]
        == "2 des empreintes comportent des erreurs ; aucune recherche n’a été faite"
    )
    by_field = {f["field"]: f["message"] for f in error["fields"]}
    assert by_field["hashes.0.value"] == (
        "PDQ hash : 64 chiffres hexadécimaux attendus, 2 caractères reçus"
    )
    assert by_field["hashes.1.type"].startswith("doit être l’une de ces valeurs : md5, sha1")


class _Probe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=5)
    count: int = Field(ge=1, le=10)
    kind: Literal["a", "b"]


def _probe_app(app: FastAPI) -> None:
    @app.post("/api/v1/h3-probe")
    def api_probe(body: _Probe) -> dict[str, str]:
        return {}

    @app.get("/h3-probe")
    def page_probe(size: Annotated[int, Query(ge=1)]) -> dict[str, str]:
        return {}


def test_pydantic_refusals_are_our_messages_in_french(app: FastAPI) -> None:
    _probe_app(app)
    with TestClient(app) as client:
        body = {"name": "toolong", "count": 11, "kind": "c", "extra": 1}
        error = client.post("/api/v1/h3-probe", json=body, headers=FR).json()["error"]
        assert error["code"] == "invalid_input"
        assert error["message"] == "la requête comporte des erreurs ; rien n'a été enregistré"
        assert {f["field"]: f["message"] for f in error["fields"]} == {
            "name": "doit compter au plus 5 caractères",
            "count": "doit être inférieur ou égal à 10",
            "kind": "doit être l’une de ces valeurs : 'a', 'b'",
            "extra": "ce champ n’est pas attendu ici",
        }
        missing = client.post("/api/v1/h3-probe", json={}, headers=FR).json()["error"]
        assert {f["message"] for f in missing["fields"]} == {"ce champ est obligatoire"}
        english = client.post("/api/v1/h3-probe", json={}).json()["error"]
        assert {f["message"] for f in english["fields"]} == {"this field is required"}
        page = client.get("/h3-probe?size=zero&lang=fr")
        assert page.status_code == 422
        assert "doit être un nombre entier" in page.text
        assert "valid integer" not in page.text


def test_a_fields_problem_takes_the_separator_of_the_page_language(app: FastAPI) -> None:
    """French sets a no-break space before the colon, on the error page and in form errors."""
    _probe_app(app)
    with TestClient(app) as client:
        french = client.get("/h3-probe?size=zero&lang=fr").text
        english = client.get("/h3-probe?size=zero&lang=en").text
    assert "<li>size\u00a0: doit être un nombre entier" in french
    assert "<li>size: " in english and "size\u00a0:" not in english
    i18n.set_locale("fr")
    try:
        assert i18n.field_error("name", "trop long") == "name\u00a0: trop long"
    finally:
        i18n.set_locale("en")
    assert i18n.field_error("name", "too long") == "name: too long"


def test_a_typed_field_name_in_a_problem_is_escaped() -> None:
    from hotline.web.templating import templates

    i18n.set_locale("fr")
    try:
        rendered = templates.env.from_string(
            '{{ _("%(field)s: %(message)s", field=f, message=_(m)) }}'
        ).render(f="<b>", m=N_("the address is longer than %(max)s characters", max="<i>"))
    finally:
        i18n.set_locale("en")
    assert rendered == "&lt;b&gt;\u00a0: l’adresse dépasse &lt;i&gt; caractères"


def test_an_unknown_pydantic_type_is_a_generic_message_not_pydantic_english() -> None:
    assert message_for({"type": "complex_type", "msg": "Input should be..."}) == (
        "this value is not valid"
    )
    own = ValueError(N_("a whole number from 0 to %(max)s", max=7))
    assert isinstance(message_for({"type": "value_error", "ctx": {"error": own}}), Message)


def test_starlette_refusals_in_french(client: TestClient) -> None:
    error = client.delete("/api/v1/reports", headers=FR).json()["error"]
    assert error["code"] == "method_not_allowed"
    assert error["message"] == "cette adresse n’accepte pas cette méthode"


def test_a_staff_form_refusal_is_shown_in_the_page_language() -> None:
    from hotline.web.templating import templates

    i18n.set_locale("fr")
    try:
        rendered = templates.env.from_string("{{ _(m) }}").render(
            m=N_("the address is longer than %(max)s characters", max="100%")
        )
    finally:
        i18n.set_locale("en")
    assert rendered == "l’adresse dépasse 100% caractères"
    assert FieldError("url", N_("must be text")).message == "must be text"


def test_staff_refusals_in_french(client: TestClient, login_as) -> None:  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/staff/login?lang=fr").text)
    refused = client.post(
        "/staff/login", data={"username": "nobody", "password": "x", "csrf_token": token}
    )
    assert "Nom d’utilisateur ou mot de passe incorrect" in refused.text
    admin = login_as(["admin"])
    token = csrf_from(admin.get("/staff/users?lang=fr").text)
    short = admin.post(
        "/staff/users",
        data={
            "username": "new.analyst",
            "password": "short",
            "roles": "wizard",
            "csrf_token": token,
        },
    )
    assert short.status_code == 422
    assert "le mot de passe doit compter au moins 12 caractères" in short.text
    assert "rôle(s) inconnu(s) : wizard ; rôles existants : " in short.text
    assert "at least" not in short.text


def test_the_report_rate_limit_in_french(settings, db) -> None:  # type: ignore[no-untyped-def]
    from hotline.web.app import create_app

    settings.report_rate_limit = 1
    with TestClient(create_app(settings, db)) as client:
        assert client.post("/api/v1/reports", json={"url": "https://example.com/1"}).is_success
        refused = client.post("/api/v1/reports", json={"url": "https://example.com/2"}, headers=FR)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error == {
        "code": "rate_limited",
        "message": "trop de signalements depuis cette connexion ; réessayez plus tard",
    }


def test_a_crash_says_so_in_french_with_its_incident(app: FastAPI) -> None:
    @app.get("/api/v1/h3-boom")
    def api_boom() -> None:
        raise RuntimeError("an internal detail")

    @app.get("/h3-boom")
    def page_boom() -> None:
        raise RuntimeError("an internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        for answer in (
            client.get("/api/v1/h3-boom", headers=FR),
            client.get("/h3-boom?lang=fr"),
        ):
            assert answer.status_code == 500
            error = answer.json()["error"]
            assert error["message"] == (
                "une erreur s’est produite de notre côté ; l’identifiant de l’incident est "
                + error["incident"]
            )
        english = client.get("/api/v1/h3-boom").json()["error"]
        assert english["message"].startswith("something went wrong on our side")
