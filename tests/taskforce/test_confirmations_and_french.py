"""Taskforce pages in the reader's language, and a confirmation after every action (issue
14.5 and 14.2), on SQLite and PostgreSQL: each grading action (next, claim, grade, confirm,
split, undo, release) and the QA review answers with its one redirect carrying a flash shown
once; refusals are in French on a French page; enum values are words, not stored codes.
Images are drawn by the test (benign shapes)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from fastapi.testclient import TestClient

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.errors import Forbidden, InvalidInput, NotFound, translate
from hotline.grading.media_store import MediaStore
from hotline.taskforce import actions, export, grading, model
from hotline.web import i18n
from tests.conftest import StaffFactory, csrf_from
from tests.taskforce.conftest import family_folder, run_import
from tests.taskforce.test_qa import Graded, _actor, grade_one_cluster

VERSION = re.compile(r'name="version" value="(\d+)"')
FLASH = re.compile(r'<div class="flash" role="status" aria-live="polite"><p>([^<]*)</p>')
FRENCH = i18n.translations("fr").gettext
GRADE = {
    "category": "B",
    "child_age_1": "11-13",
    "child_sex_1": "girl",
    "child_age_2": "3-6",
    "child_sex_2": "boy",
}


@pytest.fixture
def imported(db: Database, settings: Settings, dask_client: Client, tmp_path: Path) -> None:
    store = MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )


def _post(client: TestClient, url: str, page: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_from(page), **data}, follow_redirects=False)


def _version(page: str) -> str:
    found = VERSION.search(page)
    assert found is not None
    return found.group(1)


def _flash(page: str) -> str | None:
    found = FLASH.search(page)
    return found.group(1).replace("&#39;", "'") if found else None


def _landed(client: TestClient, response: Any, where: str, said: str) -> str:
    """The action answered with one redirect to `where` (no extra hop: the flash rides on
    it); the page there says `said` once, and the next visit does not."""
    assert response.status_code == 303 and response.headers["location"] == where
    page = client.get(where).text
    assert _flash(page) == said
    assert _flash(client.get(where).text) is None  # shown once
    return page


@pytest.mark.usefixtures("imported")
def test_every_grading_action_confirms_with_a_flash(
    login_as: Callable[[list[str]], TestClient],
) -> None:
    client = login_as(["taskforce_grader"])
    start = client.get("/staff/taskforce/grade").text
    taken = _post(client, "/staff/taskforce/grade/next", start)
    url = taken.headers["location"]
    page = _landed(client, taken, url, "Next cluster claimed.")
    graded = _post(client, f"{url}/grade", page, version=_version(page), **GRADE)
    page = _landed(client, graded, url, "Grade recorded.")
    first, second, *_ = re.findall(r"/members/(\d+)/confirm", page)
    confirmed = _post(client, f"{url}/members/{first}/confirm", page, version=_version(page))
    page = _landed(client, confirmed, url, "Member confirmed with the representative's grade.")
    undone = _post(client, f"{url}/undo", page, version=_version(page))
    page = _landed(client, undone, url, "Your last decision was undone.")
    split = _post(client, f"{url}/members/{second}/split", page, version=_version(page))
    page = _landed(client, split, url, "Member split out into a cluster of its own.")
    released = _post(client, f"{url}/release", page)
    page = _landed(
        client,
        released,
        "/staff/taskforce/grade",
        "Cluster released. It is back among the clusters to grade.",
    )
    claimed = _post(client, f"{url}/claim", page)
    page = _landed(client, claimed, url, "Cluster claimed. It is yours until the claim expires.")
    # The same confirmation in the reader's language (the switcher's choice is kept).
    client.get(f"{url}?lang=fr")
    confirmed = _post(client, f"{url}/members/{first}/confirm", page, version=_version(page))
    _landed(client, confirmed, url, "Membre confirmé avec la classification du représentant.")


@pytest.mark.usefixtures("imported")
def test_grading_refusals_and_words_in_french(
    db: Database, app: object, staff: StaffFactory, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    start = client.get("/staff/taskforce/grade?lang=fr").text
    url = _post(client, "/staff/taskforce/grade/next", start).headers["location"]
    page = client.get(url).text
    # The form's choices are words of the page's language, not stored codes.
    assert ">Catégorie A</label>" in page and ">11 à 13 ans</option>" in page
    assert ">Fille</option>" in page and "not_illegal</label>" not in page
    # A field refusal: the field named and its message in French, what was typed kept.
    missing = _post(client, f"{url}/grade", page, category="A")
    assert missing.status_code == 422
    assert "<li>Âge apparent le plus jeune\u00a0: une classification illégale exige" in missing.text
    assert 'value="A" checked' in missing.text
    unversioned = _post(client, f"{url}/grade", page, **GRADE)
    assert (
        unversioned.status_code == 422
        and "<li>version\u00a0: un nombre entier</li>" in unversioned.text
    )
    # A refusal of the whole cluster: a stale page.
    stale = _post(client, f"{url}/undo", page, version="0")
    assert stale.status_code == 409
    assert "ce groupe a changé depuis l’affichage de la page" in stale.text
    assert "changed since the page was drawn" not in stale.text
    nothing = _post(client, f"{url}/undo", page, version=_version(page))
    assert nothing.status_code == 409 and "vous n’avez rien à annuler sur ce groupe" in nothing.text
    # Another grader, in French through the error page.
    with TestClient(app) as other:  # type: ignore[arg-type]
        staff.login(other, ["taskforce_grader"])
        held = other.get(f"{url}?lang=fr")
        assert held.status_code == 409
        assert "prenez ce groupe en charge avant d’y travailler" in held.text
        stolen = _post(other, f"{url}/claim", other.get("/staff/taskforce/grade").text)
        assert stolen.status_code == 409
        assert "un autre évaluateur travaille sur ce groupe" in stolen.text
    gone = client.get("/staff/taskforce/grade/999999?lang=fr")
    assert gone.status_code == 404 and "aucun groupe ne porte cet identifiant" in gone.text
    listing = client.get("/staff/taskforce/999999?lang=fr")
    assert listing.status_code == 404 and "ce lot d’affaires n’existe pas" in listing.text
    # The case set list's date in the reader's language.
    sets = client.get("/staff/taskforce?lang=fr").text
    assert re.search(r"<td>\d{1,2} [a-zéû]+\.? \d{4} \d\d:\d\d</td>", sets), sets


@pytest.fixture
def graded_for_pages(
    db: Database, settings: Settings, dask_client: Client, tmp_path: Path
) -> Graded:
    store = MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    media = MediaStore(settings.data_dir / "media", settings.secret)
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )
    return grade_one_cluster(db, grading.Stores(store, media))


def test_the_qa_review_confirms_and_refuses_in_french(
    graded_for_pages: Graded, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["senior_analyst"])
    first, second, *_ = graded_for_pages.members
    url = f"/staff/taskforce/qa/{first}"
    page = client.get(url).text
    assert "<td>Category B</td>" in client.get("/staff/taskforce/qa").text
    done = _post(client, f"{url}/review", page, outcome="agree")
    _landed(client, done, url, "QA review recorded.")
    french = client.get(f"/staff/taskforce/qa/{second}?lang=fr").text
    assert "Catégorie B · 11 à 13 ans · Filles" in french
    unsure = _post(client, f"/staff/taskforce/qa/{second}/review", french, outcome="maybe")
    assert unsure.status_code == 422 and "d’accord ou pas d’accord" in unsure.text
    same = _post(
        client,
        f"/staff/taskforce/qa/{second}/review",
        french,
        outcome="disagree",
        category="B",
        age_band="11-13",
        sex="girls",
    )
    assert same.status_code == 422 and "diffère de la classification du membre" in same.text
    again = _post(client, f"{url}/review", french, outcome="agree")
    assert again.status_code == 409
    assert "le contrôle qualité de ce membre est déjà enregistré" in again.text
    done = _post(client, f"/staff/taskforce/qa/{second}/review", french, outcome="agree")
    _landed(client, done, f"/staff/taskforce/qa/{second}", "Contrôle qualité enregistré.")


def test_messages_with_values_read_in_english_and_translate(db: Database) -> None:
    """What the CLI and logs print is the English with the values; where it is shown in
    French the id is translated, then the values filled in."""
    with pytest.raises(InvalidInput) as bad_format:
        export.check_format("xml")
    assert str(bad_format.value) == "unknown format 'xml'; use one of vics, csv"
    assert translate(bad_format.value.message, FRENCH) == (
        "format inconnu 'xml' ; utilisez l’un de ceux-ci : vics, csv"
    )
    with pytest.raises(InvalidInput) as long_name:
        model.case_set_name("x" * 101)
    assert translate(long_name.value.fields[0].message, FRENCH) == (
        "de 1 à 100 caractères imprimables"
    )
    actor = _actor(db, "grader", ["taskforce_grader"])
    with pytest.raises(NotFound) as unknown:
        actions.export_case_set(db, actor, "Nowhere", "csv", Path("unused.csv"))
    assert str(unknown.value) == "no case set named 'Nowhere'"
    assert translate(unknown.value.message, FRENCH) == "aucun lot d’affaires nommé 'Nowhere'"
    analyst = _actor(db, "analyst", ["analyst"])
    with pytest.raises(Forbidden) as refused, db.write() as session:
        actions.list_case_sets(session, analyst)
    assert translate(refused.value.message, FRENCH) == (
        "votre rôle ne permet pas de travailler sur les lots d’affaires du groupe de travail"
    )
