"""The taskforce grading page through the app's test client, without JavaScript: plain forms,
POST-redirect-GET, CSRF; blurred thumbnails until a reveal; errors shown with nothing
written; other roles and other graders kept out; English and French."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from distributed import Client
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db.engine import Database
from hotline.grading.media_store import MediaStore
from hotline.grading.tables import GradeRow, MediaItemRow, MediaViewRow
from hotline.taskforce.tables import ClusterRow, DecisionRow
from tests.conftest import StaffFactory, csrf_from
from tests.taskforce.conftest import family_folder, run_import

VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture
def imported(db: Database, settings: Settings, dask_client: Client, tmp_path: Path) -> None:
    store = MediaStore(settings.data_dir / "taskforce-media", settings.secret)
    run_import(
        db, "Op", [family_folder(tmp_path / "in")], dask_client, hash_only=False, media=store
    )


def _post(client: TestClient, url: str, page: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": csrf_from(page), **data}, follow_redirects=False)


def _take(client: TestClient) -> tuple[str, str]:
    start = client.get("/staff/taskforce/grade")
    response = _post(client, "/staff/taskforce/grade/next", start.text)
    assert response.status_code == 303
    url = response.headers["location"]
    return url, client.get(url).text


def _grades(db: Database) -> int:
    with db.read() as session:
        return session.execute(select(func.count()).select_from(GradeRow)).scalar_one()


@pytest.mark.usefixtures("imported")
def test_grade_a_cluster_without_javascript(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    cases = client.get("/staff/taskforce")
    assert 'href="/staff/taskforce/grade"' in cases.text
    url, page = _take(client)
    assert 'id="blurred"' in page and 'id="revealed"' not in page
    assert "<kbd>a</kbd>" in page and "taskforce-grade.js" in page
    rep = re.search(r"/staff/taskforce/items/(\d+)/thumb", page)
    assert rep is not None
    thumb = client.get(f"/staff/taskforce/items/{rep.group(1)}/thumb")
    assert thumb.status_code == 200
    image = Image.open(io.BytesIO(thumb.content))
    assert image.mode == "L" and max(image.size) <= 160
    assert client.get(f"/staff/taskforce/items/{rep.group(1)}/full").status_code == 403
    revealed = _post(client, f"{url}/reveal", page)
    assert revealed.status_code == 200
    full = re.search(r'id="revealed" src="([^"]+)"', revealed.text)
    assert full is not None
    assert client.get(full.group(1).replace("&amp;", "&")).content.startswith(b"\x89PNG")

    version = VERSION.search(page)
    assert version is not None
    bad = _post(client, f"{url}/grade", page, version=version.group(1), category="A")
    assert bad.status_code == 422 and "age_band" in bad.text
    assert _grades(db) == 0
    good = _post(
        client,
        f"{url}/grade",
        page,
        version=version.group(1),
        category="B",
        child_age_1="11-13",
        child_sex_1="girl",
        child_age_2="3-6",
        child_sex_2="boy",
    )
    assert good.status_code == 303 and _grades(db) == 1
    page = client.get(url).text
    assert 'id="graded"' in page and page.count('class="confirm-form"') == 3
    # A decision on the page as it was before the grade: refused, nothing written.
    stale = re.search(r"/members/(\d+)/confirm", page)
    assert stale is not None
    refused = _post(client, f"{url}/members/{stale.group(1)}/confirm", page, version="1")
    assert refused.status_code == 409
    assert "changed since the page was drawn" in refused.text
    current = VERSION.search(page)
    assert current is not None
    done = _post(client, f"{url}/members/{stale.group(1)}/confirm", page, version=current.group(1))
    assert done.status_code == 303
    page = client.get(url).text
    assert page.count('class="confirm-form"') == 2
    # Next is refused while members wait for a decision.
    assert (
        _post(
            client, "/staff/taskforce/grade/next", page, cluster=url.rsplit("/", 1)[1]
        ).status_code
        == 409
    )
    french = client.get(f"{url}?lang=fr")
    assert "Classer les groupes" in french.text and "Membres quasi identiques" in french.text
    # States in words of the page's language, not the stored values.
    assert "en vérification" in french.text and "suggéré" in french.text
    assert "confirmé · distance" in french.text


@pytest.mark.usefixtures("imported")
def test_another_grader_and_other_roles_are_kept_out(
    db: Database, app: object, staff: StaffFactory, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    url, page = _take(client)
    with TestClient(app) as other:  # type: ignore[arg-type]
        staff.login(other, ["taskforce_grader"])
        assert other.get(url).status_code == 409
        version = VERSION.search(page)
        assert version is not None
        start = other.get("/staff/taskforce/grade")
        stolen = _post(other, f"{url}/claim", start.text)
        assert stolen.status_code == 409
        grade = _post(other, f"{url}/grade", start.text, version=version.group(1), category="C")
        assert grade.status_code == 409 and _grades(db) == 0
    with TestClient(app) as analyst:  # type: ignore[arg-type]
        staff.login(analyst, ["analyst"])
        assert analyst.get("/staff/taskforce/grade").status_code == 403
        assert analyst.get(url).status_code == 403


def test_nothing_to_grade(login_as: Callable[[list[str]], TestClient]) -> None:
    client = login_as(["taskforce_grader"])
    start = client.get("/staff/taskforce/grade")
    response = _post(client, "/staff/taskforce/grade/next", start.text)
    assert response.headers["location"] == "/staff/taskforce/grade?empty=1"
    assert 'id="nothing-to-grade"' in client.get("/staff/taskforce/grade?empty=1").text


@pytest.mark.usefixtures("imported")
def test_a_clusters_thumbnails_are_charged_once_at_the_claim(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    url, _page = _take(client)
    for _ in range(3):
        assert client.get(url).status_code == 200
    with db.read() as session:
        charged = session.execute(
            select(func.count()).where(MediaViewRow.kind == "thumbnails")
        ).scalar_one()
    assert charged == 1


def _written(db: Database) -> tuple[int, int, int, int]:
    """Grades, decisions, cluster versions summed, media rows: what a decision writes."""
    with db.read() as session:
        return (
            session.execute(select(func.count()).select_from(GradeRow)).scalar_one(),
            session.execute(select(func.count()).select_from(DecisionRow)).scalar_one(),
            session.execute(select(func.sum(ClusterRow.version))).scalar_one(),
            session.execute(select(func.count()).select_from(MediaItemRow)).scalar_one(),
        )


@pytest.mark.usefixtures("imported")
def test_a_stale_grade_is_refused_and_writes_nothing(
    db: Database, login_as: Callable[[list[str]], TestClient]
) -> None:
    client = login_as(["taskforce_grader"])
    url, drawn_page = _take(client)
    drawn_version = VERSION.search(drawn_page)
    assert drawn_version is not None
    fields = {"category": "B", "child_age_1": "11-13", "child_sex_1": "girl"}
    graded = _post(client, f"{url}/grade", drawn_page, version=drawn_version.group(1), **fields)
    assert graded.status_code == 303
    page = client.get(url).text
    now = VERSION.search(page)
    assert now is not None and now.group(1) != drawn_version.group(1)
    assert _post(client, f"{url}/undo", page, version=now.group(1)).status_code == 303
    before = _written(db)
    # A second grade from the page as it was first drawn: the cluster changed since.
    stale = _post(
        client,
        f"{url}/grade",
        drawn_page,
        version=drawn_version.group(1),
        category="C",
        child_age_1="14-15",
        child_sex_1="boy",
    )
    assert stale.status_code == 409
    assert "changed since the page was drawn" in stale.text
    assert _written(db) == before
